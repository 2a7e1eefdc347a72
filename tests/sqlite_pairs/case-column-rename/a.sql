create table customer (
  CustomerId integer primary key,
  FirstName text not null,
  LastName text
);
insert into customer values (1, 'Ada', 'Lovelace');
