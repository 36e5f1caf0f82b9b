-- The database the golden `check --db` cases bind against.
CREATE TABLE customers (
  customer_id INTEGER PRIMARY KEY,
  plan TEXT,
  status TEXT,
  industry TEXT,
  employees INTEGER,
  mrr REAL,
  signup_date DATE,
  nps INTEGER,
  device TEXT
);
CREATE TABLE orders (
  order_id INTEGER PRIMARY KEY,
  customer_id INTEGER,
  amount REAL,
  order_date DATE,
  category TEXT
);
-- Cyrillic names, as a CRM export in Russian gives them (tests/golden/check-db/cyrillic_*).
CREATE TABLE клиенты (
  ид INTEGER PRIMARY KEY,
  дата_регистрации DATE,
  отрасль TEXT
);
CREATE TABLE заказы (
  ид_клиента INTEGER,
  сумма REAL,
  дата DATE
);
-- Columns named like the language's built-ins (check-db/column_hidden_by_a_builtin).
CREATE TABLE hidden (
  customer_id INTEGER PRIMARY KEY,
  as_of DATE,
  previous_segment TEXT
);
