import { availableParallelism } from 'node:os';

/**
 * Benchmark floor, run as its own process so /usr/bin/time sees only it: DuckDB's own one-query
 * summary of a CSV (`SUMMARIZE`: count, nulls, min, max, approx_unique, avg, std, quartiles of every
 * column), with the sniffer choosing the types, on as many threads as the profiler uses and DuckDB's
 * default memory limit (it has no plan for a wide table and needs far more than 500 MB for one).
 */
const [file] = process.argv.slice(2);
const { DuckDBInstance } = await import('@duckdb/node-api');
const instance = await DuckDBInstance.create(':memory:', { threads: String(Math.min(4, availableParallelism())) });
const conn = await instance.connect();
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const reader = await conn.runAndReadAll(`SUMMARIZE SELECT * FROM read_csv(${lit(file!)}, header = true)`);
process.stdout.write(`${JSON.stringify({ columns: reader.currentRowCount })}\n`);
conn.closeSync();
instance.closeSync();
