create table customer (
  customerid integer primary key,
  firstName text not null,
  LastName text
);
insert into customer values (1, 'Ada', 'Lovelace');
