CREATE TABLE IF NOT EXISTS `Employee` (`id` INTEGER NOT NULL, `name` TEXT, `managerId` INTEGER, PRIMARY KEY(`id`));
CREATE VIEW `EmployeeDetail` AS SELECT employee.id, employee.name, manager.name AS managerName, manager.id AS managerId FROM Employee AS employee INNER JOIN Employee AS manager ON employee.managerId = manager.id;
INSERT INTO `Employee` VALUES (1, 'Boss', NULL), (2, 'Dev', 1), (3, 'Ops', 1);
