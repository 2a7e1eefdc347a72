create table todo_lists (
  id integer primary key,
  title text not null
);
create table todos (
  id integer primary key,
  list_id integer not null references todo_lists(id),
  text text not null,
  done integer not null default 0,
  due text
);
insert into todo_lists values (1, 'home'), (2, 'work');
insert into todos values (1, 1, 'milk', 0, null), (2, 2, 'report', 1, '2024-05-01');
