create table item (
  id integer primary key,
  name text not null
);
insert into item (id, name) values (1, 'pen');
