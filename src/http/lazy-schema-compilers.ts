/**
 * Route schemas compiled when a route is first used, not when the server starts (issue #18:
 * resident memory just started and the time to the first /healthz answer). Fastify compiles every
 * route's validators (Ajv) and response serializers (fast-json-stringify) when the app gets ready:
 * ~250 ms of a start and the largest part of the V8 heap at idle, for ~150 routes of which a
 * server often serves a handful. These are Fastify's own compilers, with the app's own options,
 * wrapped so that each schema is compiled at its first request and then kept: the same functions
 * run, only later. Every route's schema is exercised by the test suite, so a schema that does not
 * compile still fails the tests rather than a user's request.
 */
import AjvCompiler from '@fastify/ajv-compiler';
import SerializerCompiler from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

type BuildCompiler = (...args: any[]) => (routeSchema: any) => any;

const buildValidator = AjvCompiler() as unknown as BuildCompiler;
const buildSerializer = SerializerCompiler() as unknown as BuildCompiler;

/** For Fastify's `schemaController.compilersFactory` option. */
export const lazySchemaCompilers = {
  buildValidator: (...args: unknown[]) => {
    const compile = buildValidator(...args);
    return (routeSchema: unknown) => {
      let validate: ((this: unknown, data: unknown) => unknown) & { errors?: unknown };
      // Fastify reads `errors` off the function it was given after a failed validation.
      const lazyValidate = function (this: unknown, data: unknown) {
        validate ??= compile(routeSchema);
        const result = validate.call(this, data);
        lazyValidate.errors = validate.errors;
        return result;
      } as ((this: unknown, data: unknown) => unknown) & { errors?: unknown };
      return lazyValidate;
    };
  },
  buildSerializer: (...args: unknown[]) => {
    const compile = buildSerializer(...args);
    return (routeSchema: unknown) => {
      let serialize: (data: unknown) => string;
      return (data: unknown) => (serialize ??= compile(routeSchema))(data);
    };
  },
} as unknown as CompilersFactory; // Fastify types the validator as Ajv's own function type
