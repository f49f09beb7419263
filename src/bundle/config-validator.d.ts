/**
 * Types of dist/bundle/config-validator.js, which scripts/build-validator.js generates after tsc from
 * schemas/config.schema.json (ajv standalone code, no ajv compiler at run time).
 */
import type { Process, Spec } from './spec-types.js';

export interface ConfigSchemaError {
  /** RFC 6901 pointer to the offending value, "" for the document */
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
}

export interface SchemaValidator<T> {
  (data: unknown): data is T;
  errors?: ConfigSchemaError[] | null;
}

/** The whole config.json */
export declare const validateConfig: SchemaValidator<Spec>;
/** A config.json "process" object on its own, as in `exec --process process.json` */
export declare const validateProcess: SchemaValidator<Process>;
