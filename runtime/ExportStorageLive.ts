/** The export storage in force: the S3-compatible bucket when configured (runtime/Config.ts), else the local folder. */
import { Effect, Layer, Option } from "effect"
import { LocalExportStorage } from "../actors/export/LocalExportStorage.ts"
import { S3ExportStorage } from "../actors/export/S3ExportStorage.ts"
import { AppSettings } from "./AppSettings.ts"
import { EXPORT_DEFAULTS, type ExportSettings } from "./Config.ts"

/** The settings of exports (EXPORT_DEFAULTS when the process was given none). */
export const exportSettingsOf = (s: { readonly exports?: ExportSettings | undefined }): ExportSettings => s.exports ?? EXPORT_DEFAULTS

/** ExportStorage from the settings. */
export const ExportStorageLive = Layer.unwrapEffect(Effect.map(AppSettings, (settings) => {
  const s = exportSettingsOf(settings)
  return Option.match(s.s3, {
    onNone: () => LocalExportStorage({ directory: s.dir }),
    onSome: (s3) =>
      S3ExportStorage({
        bucket: s3.bucket,
        region: s3.region,
        endpoint: s3.endpoint,
        forcePathStyle: s3.forcePathStyle,
        credentials: s3.accessKeyId !== undefined && s3.secretAccessKey !== undefined
          ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
          : undefined
      })
  })
}))

/** The start-up line that says where exports go and what replaces the default. */
export const exportStorageBanner = (s: ExportSettings): string =>
  Option.match(s.s3, {
    onNone: () => `  exports:  local folder ${s.dir}, kept ${s.retention.toString()} (default; set S3_ENDPOINT/S3_BUCKET for S3-compatible storage, EXPORT_RETENTION)`,
    onSome: (s3) => `  exports:  S3 bucket ${s3.bucket}${s3.endpoint !== undefined ? ` at ${s3.endpoint}` : ""}, kept ${s.retention.toString()} (EXPORT_RETENTION)`
  })
