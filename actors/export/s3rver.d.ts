/** The part of `s3rver` (a devDependency without types) the S3 storage tests use. */
declare module "s3rver" {
  interface S3rverOptions {
    readonly address?: string
    readonly port?: number
    readonly directory: string
    readonly silent?: boolean
    readonly resetOnClose?: boolean
    readonly allowMismatchedSignatures?: boolean
    readonly configureBuckets?: ReadonlyArray<{ readonly name: string }>
  }
  /** An S3 notification event, as s3rver emits one per created or removed object. */
  interface S3rverEvent {
    readonly Records: ReadonlyArray<{ readonly eventName: string; readonly s3: { readonly object: { readonly key: string } } }>
  }
  export default class S3rver {
    constructor(options: S3rverOptions)
    run(): Promise<{ readonly address: string; readonly port: number }>
    close(): Promise<void>
    on(event: "event", listener: (event: S3rverEvent) => void): this
  }
}
