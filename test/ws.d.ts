/** The part of the `ws` package (a dependency of @effect/platform-node; @types/ws is not installed) the tests use. */
declare module "ws" {
  /** ws's client WebSocket: the browser's API, plus headers of its own on the upgrade request (Authorization, Cookie, Origin). */
  export const WebSocket: new (
    url: string,
    protocols?: string | Array<string>,
    options?: { readonly headers?: Readonly<Record<string, string>> }
  ) => globalThis.WebSocket
}
