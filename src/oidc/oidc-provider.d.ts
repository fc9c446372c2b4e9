/**
 * oidc-provider ships JavaScript without type declarations. Only the surface Twofold uses is
 * named here; its configuration and models are the library's documented shapes.
 */
declare module 'oidc-provider' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Loose = any;
  export default class Provider {
    constructor(issuer: string, configuration: Loose);
    proxy: boolean;
    Client: Loose;
    Grant: Loose;
    Session: Loose;
    AccessToken: Loose;
    callback(): (request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse) => void;
    use(middleware: (ctx: Loose, next: () => Promise<void>) => Promise<void>): void;
    on(event: string, listener: (...args: Loose[]) => void): void;
    interactionDetails(request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse): Promise<Loose>;
    interactionResult(request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse, result: Loose, options?: { mergeWithLastSubmission?: boolean }): Promise<string>;
  }
  export const errors: {
    InvalidGrant: new (description: string) => Error;
    [name: string]: Loose;
  };
  export const interactionPolicy: {
    base(): Loose;
    Check: Loose;
    Prompt: Loose;
  };
}
