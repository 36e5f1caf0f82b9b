// DuckDB as a contender in the strata benchmark (bench/run.py starts it; see bench/README.md).
//
// Loads the benchmark's customers and orders, exported from its SQLite base as CSV files, into
// an in-memory DuckDB database, then runs the segmentation (bench/retail-bench.duckdb.sql)
// --repeat times. Prints one line of JSON:
//   {"load_s": …, "query_s": …, "counts": {segment or tag: customers, …}, "duckdb_version": "…"}
// load_s is the time of loading both files; query_s the best time of one run of the whole
// SQL file (materialising the membership, then counting it); counts come from the last run.
//
// Usage: node query.mjs --modules NODE_MODULES --customers CSV --orders CSV --sql FILE [--repeat N]
// where NODE_MODULES is the node_modules folder that holds @duckdb/node-api.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";

function parseArgs(argv) {
  const args = { repeat: "1" };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i];
    if (!name.startsWith("--") || i + 1 >= argv.length) {
      throw new Error(`expected --name value pairs, got '${name}'`);
    }
    args[name.slice(2)] = argv[i + 1];
  }
  for (const required of ["modules", "customers", "orders", "sql"]) {
    if (!args[required]) throw new Error(`--${required} is required`);
  }
  return args;
}

// Standard SQL string literal for a file path.
const quoted = (text) => `'${text.replaceAll("'", "''")}'`;

// The columns and types of the SQLite base (strata demo-data --kind retail). Types are
// given, not sniffed: amounts are exact decimals, as strata adds them.
const CUSTOMER_COLUMNS = `{'customer_id': 'BIGINT', 'name': 'VARCHAR', 'city': 'VARCHAR', 'gender': 'VARCHAR',
  'signup_date': 'DATE', 'email_opt_in': 'BOOLEAN', 'loyalty_card': 'BOOLEAN'}`;
const ORDER_COLUMNS = `{'order_id': 'BIGINT', 'customer_id': 'BIGINT', 'order_date': 'DATE',
  'amount': 'DECIMAL(18, 9)', 'category': 'VARCHAR', 'items': 'INTEGER'}`;

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const require = createRequire(join(resolve(args.modules), "package.json"));
  const duckdb = require("@duckdb/node-api");
  const instance = await duckdb.DuckDBInstance.create(":memory:");
  const connection = await instance.connect();

  const loadStart = performance.now();
  await connection.run(
    `CREATE TABLE customers AS SELECT * FROM read_csv(${quoted(args.customers)}, header = true, ` +
      `auto_detect = false, columns = ${CUSTOMER_COLUMNS})`,
  );
  await connection.run(
    `CREATE TABLE orders AS SELECT * FROM read_csv(${quoted(args.orders)}, header = true, ` +
      `auto_detect = false, columns = ${ORDER_COLUMNS})`,
  );
  const loadSeconds = (performance.now() - loadStart) / 1000;

  // DuckDB runs every statement of the file and returns the last one's result: the counts.
  const sql = readFileSync(args.sql, "utf8");
  let best = Infinity;
  let rows = [];
  for (let run = 0; run < Number(args.repeat); run++) {
    const start = performance.now();
    const reader = await connection.runAndReadAll(sql);
    best = Math.min(best, (performance.now() - start) / 1000);
    rows = reader.getRows();
  }

  const counts = {};
  for (const [segment, customers] of rows) counts[segment] = Number(customers);
  process.stdout.write(
    JSON.stringify({ load_s: loadSeconds, query_s: best, counts, duckdb_version: duckdb.version() }) + "\n",
  );
  connection.closeSync();
  instance.closeSync();
}

main().catch((error) => {
  process.stderr.write(`duckdb contender: ${error.message}\n`);
  process.exit(1);
});
