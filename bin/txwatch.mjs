#!/usr/bin/env node
// The txwatch command. The TypeScript sources run through tsx, so there is no build step
// between a checkout and a running monitor.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
