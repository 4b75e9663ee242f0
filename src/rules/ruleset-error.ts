import { FieldError } from "../validation.ts";

/**
 * A ruleset that cannot run (PRC-3): unparseable, or a rule or field that breaks the schema,
 * named as the author wrote it. The rules' own error: where it is shown (the CLI, the admin
 * socket, a start that refuses the file) is the caller's business.
 */
export class RulesetError extends FieldError {
  constructor(field: string | undefined, message: string) {
    super(field, message);
    this.name = "RulesetError";
  }
}
