"""Hand-written MySQL schema pairs: (name, from SQL, to SQL). Each converges both ways."""

from __future__ import annotations

CASES: list[tuple[str, str, str]] = [
    ("create_everything", "", """
CREATE TABLE parent (id INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(10) NOT NULL, UNIQUE KEY parent_code (code));
CREATE TABLE t (
 id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
 a INT(5) UNSIGNED ZEROFILL,
 b VARCHAR(20) CHARACTER SET latin1 DEFAULT 'x''y',
 c DECIMAL(10,2) NOT NULL DEFAULT 1.50,
 d DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
 e JSON,
 f INT GENERATED ALWAYS AS (a + 1) VIRTUAL,
 g INT AS (a * 2) STORED,
 h INT INVISIBLE DEFAULT (1 + 2),
 i ENUM('a','b') NOT NULL DEFAULT 'a',
 j TEXT, k POINT NOT NULL, l BIT(3) DEFAULT b'101', m BOOL DEFAULT TRUE, n DOUBLE, o FLOAT,
 q SET('x','y'), r BLOB, s TIMESTAMP NULL, u YEAR, v DATE DEFAULT '2020-01-01', w TIME(3),
 x BINARY(16), y VARBINARY(64), z MEDIUMINT, sm SMALLINT NOT NULL DEFAULT -1, ti TINYINT UNSIGNED,
 ch CHAR(3) COLLATE utf8mb4_bin, lt LONGTEXT COMMENT 'long one', pid INT,
 PRIMARY KEY (id), KEY kb (b(5)), FULLTEXT KEY ft (j), SPATIAL KEY sp (k), UNIQUE KEY uq (c, d DESC),
 KEY multi (sm, ti) COMMENT 'two',
 CONSTRAINT chk CHECK (c > 0), CONSTRAINT fk FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE SET NULL ON UPDATE CASCADE
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC COMMENT='everything';
CREATE VIEW v AS SELECT id, a FROM t WHERE a > 1 WITH CHECK OPTION;
CREATE SQL SECURITY INVOKER VIEW v2 AS SELECT v.id FROM v;
CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1;
"""),
    ("add_and_drop_columns_in_place", """
CREATE TABLE t (id INT PRIMARY KEY, a INT, c INT, d VARCHAR(5));
""", """
CREATE TABLE t (id INT PRIMARY KEY, b VARCHAR(10) NOT NULL DEFAULT '', a INT, c INT, c2 INT DEFAULT 7);
"""),
    ("add_first_column", "CREATE TABLE t (a INT);", "CREATE TABLE t (z INT, a INT);"),
    ("retype_and_nullability", """
CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL, b VARCHAR(10), c TEXT);
""", """
CREATE TABLE t (id INT PRIMARY KEY, a BIGINT NOT NULL, b VARCHAR(50) NOT NULL, c MEDIUMTEXT);
"""),
    ("defaults_and_on_update", """
CREATE TABLE t (id INT PRIMARY KEY, a INT DEFAULT 1, b DATETIME, c VARCHAR(5) DEFAULT 'x', d INT);
""", """
CREATE TABLE t (id INT PRIMARY KEY, a INT DEFAULT 2, b DATETIME DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  c VARCHAR(5), d INT DEFAULT (RAND() * 10));
"""),
    ("auto_increment_added", "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT);",
     "CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, a INT);"),
    ("generated_columns", """
CREATE TABLE t (a INT, b INT AS (a + 1) VIRTUAL, c INT AS (a * 3) STORED);
""", """
CREATE TABLE t (a INT, b INT AS (a + 2) VIRTUAL, c INT AS (a * 3) VIRTUAL, d INT AS (a - 1) STORED);
"""),
    ("invisible_and_comments", "CREATE TABLE t (a INT, b INT) COMMENT 'x';",
     "CREATE TABLE t (a INT COMMENT 'the a', b INT INVISIBLE) COMMENT 'y';"),
    ("collations", """
CREATE TABLE t (a VARCHAR(10), b VARCHAR(10) COLLATE utf8mb4_bin, c TEXT);
""", """
CREATE TABLE t (a VARCHAR(10) COLLATE utf8mb4_unicode_ci, b VARCHAR(10), c TEXT CHARACTER SET latin1);
"""),
    ("table_collation_and_options", """
CREATE TABLE t (a VARCHAR(10), b VARCHAR(10) COLLATE utf8mb4_bin) ROW_FORMAT=COMPACT;
""", """
CREATE TABLE t (a VARCHAR(10), b VARCHAR(10) COLLATE utf8mb4_bin) DEFAULT CHARSET=latin1 COLLATE=latin1_general_ci ROW_FORMAT=DYNAMIC STATS_PERSISTENT=0;
"""),
    ("engine_change", "CREATE TABLE t (a INT) ENGINE=InnoDB;", "CREATE TABLE t (a INT) ENGINE=MyISAM;"),
    ("indexes_of_every_kind", """
CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(100), b TEXT, g POINT NOT NULL, n INT, KEY old_idx (n));
""", """
CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(100), b TEXT, g POINT NOT NULL, n INT,
  UNIQUE KEY ua (a), KEY pa (a(10), n DESC), FULLTEXT KEY fb (b), SPATIAL KEY sg (g));
"""),
    ("primary_key_changes", "CREATE TABLE t (a INT NOT NULL, b INT NOT NULL, PRIMARY KEY (a));",
     "CREATE TABLE t (a INT NOT NULL, b INT NOT NULL, PRIMARY KEY (a, b));"),
    ("foreign_keys_with_actions", """
CREATE TABLE p (id INT PRIMARY KEY);
CREATE TABLE c (id INT PRIMARY KEY, pid INT, CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id));
""", """
CREATE TABLE p (id INT PRIMARY KEY);
CREATE TABLE c (id INT PRIMARY KEY, pid INT, qid INT, KEY c_q_idx (qid),
  CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE,
  CONSTRAINT c_q FOREIGN KEY (qid) REFERENCES p (id) ON DELETE SET NULL ON UPDATE CASCADE);
"""),
    ("foreign_key_cycle", "", """
CREATE TABLE a (id INT PRIMARY KEY, b_id INT);
CREATE TABLE b (id INT PRIMARY KEY, a_id INT, CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES a (id));
ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES b (id);
"""),
    ("checks", "CREATE TABLE t (a INT, b INT, CONSTRAINT ca CHECK (a > 0));",
     "CREATE TABLE t (a INT, b INT, CONSTRAINT ca CHECK (a > 1), CONSTRAINT cb CHECK (b <> a));"),
    ("enum_values_appended", "CREATE TABLE t (s ENUM('a','b') NOT NULL);",
     "CREATE TABLE t (s ENUM('a','b','c') NOT NULL);"),
    ("views_and_triggers", """
CREATE TABLE t (a INT, b INT);
CREATE VIEW v AS SELECT a FROM t;
CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.b = 1;
""", """
CREATE TABLE t (a INT, b INT);
CREATE ALGORITHM=MERGE VIEW v AS SELECT a, b FROM t WHERE a > 0 WITH LOCAL CHECK OPTION;
CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.b = 2;
CREATE TABLE log (a INT);
CREATE TRIGGER tr2 AFTER DELETE ON t FOR EACH ROW BEGIN INSERT INTO log VALUES (OLD.a); END;
"""),
    ("partitioned_table", "", """
CREATE TABLE t (id INT, d DATE) PARTITION BY RANGE (YEAR(d)) (PARTITION p0 VALUES LESS THAN (2000), PARTITION p1 VALUES LESS THAN MAXVALUE);
"""),
    ("sequences", "CREATE SEQUENCE s1 START WITH 10 INCREMENT BY 2;",
     "CREATE SEQUENCE s1 START WITH 10 INCREMENT BY 5 CACHE 10; CREATE SEQUENCE s2;"),
    ("index_names_repeat_across_tables", """
CREATE TABLE t1 (id INT PRIMARY KEY, email VARCHAR(50), UNIQUE KEY email (email));
CREATE TABLE t2 (id INT PRIMARY KEY, email VARCHAR(50), x INT, KEY email (email));
""", """
CREATE TABLE t1 (id INT PRIMARY KEY, email VARCHAR(80), KEY email (email, id));
CREATE TABLE t2 (id INT PRIMARY KEY, email VARCHAR(50), UNIQUE KEY email (email));
CREATE TABLE t3 (id INT PRIMARY KEY, email VARCHAR(50), KEY email (email));
"""),
    ("fulltext_and_virtual_columns_force_a_copy", """
CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(20), g INT AS (id * 2) VIRTUAL, FULLTEXT KEY ft (b));
""", """
CREATE TABLE t (id INT PRIMARY KEY, n INT, a INT NOT NULL, b VARCHAR(20), g INT AS (id * 2) VIRTUAL, FULLTEXT KEY ft (b)) ROW_FORMAT=COMPACT;
"""),
    ("json_column_in_a_converted_table", "CREATE TABLE t (a INT, d JSON, s VARCHAR(5));",
     "CREATE TABLE t (a INT, d JSON, s VARCHAR(5)) DEFAULT CHARSET=latin1;"),
    ("not_null_beside_a_stored_generated_column_added_in_the_same_plan", """
CREATE TABLE t3 (id int NOT NULL AUTO_INCREMENT, n int NOT NULL DEFAULT 1, b varchar(20), r int, PRIMARY KEY (id));
""", """
CREATE TABLE t3 (id int NOT NULL AUTO_INCREMENT, n int NOT NULL DEFAULT 1, g bigint AS (n + 1) STORED, r int NOT NULL, PRIMARY KEY (id));
"""),
    ("drop_tables_with_fks", """
CREATE TABLE p (id INT PRIMARY KEY);
CREATE TABLE c (id INT PRIMARY KEY, pid INT, CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id));
CREATE TABLE keep (id INT);
""", "CREATE TABLE keep (id INT);"),
    ("index_comment_on_one_of_two_tables_with_the_same_index_name", """
CREATE TABLE a (id INT PRIMARY KEY, x INT, KEY ix (x) COMMENT 'same');
CREATE TABLE b (id INT PRIMARY KEY, x INT, KEY ix (x) COMMENT 'old');
""", """
CREATE TABLE a (id INT PRIMARY KEY, x INT, KEY ix (x) COMMENT 'same');
CREATE TABLE b (id INT PRIMARY KEY, x INT, KEY ix (x) COMMENT 'new');
"""),
    # MySQL index names are per table: dfmigrate's refs to them name the table (deps.index_ref)
    ("drop_two_tables_with_the_same_index_name", """
CREATE TABLE t1 (id INT PRIMARY KEY, a INT, KEY ix (a));
CREATE TABLE t2 (id INT PRIMARY KEY, a INT, KEY ix (a));
""", "CREATE TABLE keep (id INT);"),
    ("the_same_index_name_changed_on_one_table_moved_on_another", """
CREATE TABLE t1 (id INT PRIMARY KEY, a INT, KEY ix (a));
CREATE TABLE t2 (id INT PRIMARY KEY, a INT, KEY ix (a));
CREATE TABLE t3 (id INT PRIMARY KEY, a INT);
""", """
CREATE TABLE t1 (id INT PRIMARY KEY, a INT, KEY ix (a));
CREATE TABLE t2 (id INT PRIMARY KEY, a INT, KEY ix (a, id));
CREATE TABLE t3 (id INT PRIMARY KEY, a INT, KEY ix (a));
"""),
    ("latin1_text_table_to_the_default_charset", """
CREATE TABLE t3 (id int NOT NULL AUTO_INCREMENT, n int NOT NULL DEFAULT 1, b text, PRIMARY KEY (id)) DEFAULT CHARSET=latin1;
""", """
CREATE TABLE t3 (id int NOT NULL AUTO_INCREMENT, n int NOT NULL DEFAULT 1, b text, PRIMARY KEY (id));
"""),
    ("latin1_text_types_and_own_collations_to_utf8mb4", """
CREATE TABLE t (id INT PRIMARY KEY, a TINYTEXT, b TEXT NOT NULL, c MEDIUMTEXT, d LONGTEXT, e VARCHAR(5) COLLATE latin1_bin, f JSON) DEFAULT CHARSET=latin1;
""", """
CREATE TABLE t (id INT PRIMARY KEY, a TINYTEXT, b TEXT NOT NULL, c MEDIUMTEXT, d LONGTEXT, e VARCHAR(5) COLLATE latin1_bin, f JSON) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
"""),
]
