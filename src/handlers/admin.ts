import { adminHandler } from "../runtime/aws-admin.ts";

/** The ledger admin function (src/runtime/aws-admin.ts): `migrate`, `create-key`. */
export const handler = adminHandler();
