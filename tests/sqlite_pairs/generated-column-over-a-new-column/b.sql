create table item (
  id integer primary key,
  name text not null,
  PRICE_WITH_TAX real generated always as (price * 1.2) virtual,
  price real
);
insert into item (id, name, price) values (1, 'pen', 2.5);
