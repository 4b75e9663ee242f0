import { PGlite } from "@electric-sql/pglite";
let t = Date.now();
const db = await PGlite.create(); console.log("create", Date.now() - t); t = Date.now();
const dump = await db.dumpDataDir("none"); console.log("dump", Date.now() - t, dump.size); t = Date.now();
const db2 = await PGlite.create({ loadDataDir: dump }); console.log("load", Date.now() - t); t = Date.now();
console.log((await db2.query("select 1 as x")).rows);
const db3 = await PGlite.create({ loadDataDir: dump }); console.log("load2", Date.now() - t); t = Date.now();
await db.exec("create schema s1; set search_path = s1; create table a(i int);"); console.log("schema", Date.now() - t);
