// The entry the Pulumi CLI loads: it runs a nodejs pack with `run-policy-pack`, which require()s
// package.json's main under ts-node and ignores runtime options, so the TypeScript pack (ES
// modules, `.ts` imports, like the rest of the repository) is loaded through tsx from here.
module.exports = import("tsx/esm/api").then(({ register }) => {
  register();
  return import("./index.ts");
});
