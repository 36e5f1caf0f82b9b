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
