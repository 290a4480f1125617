//! Where GetFunction's `Code.Location` and GetLayerVersion's `Content.Location` point: a
//! path on the nimbus endpoint that serves the stored zip, so the code can be downloaded
//! as from AWS's presigned S3 URL.

use nimbus_core::RequestContext;
use nimbus_store::params;

use crate::Lambda;
use crate::versions::Version;

/// The path below `/_nimbus/` that serves code.
pub const CODE_PATH: &str = "lambda-code/";

/// The download URL of a function version's zip (`$LATEST` or a number).
pub(crate) fn function_code_url(ctx: &RequestContext, name: &str, version: &str) -> String {
    format!(
        "{}/_nimbus/{CODE_PATH}function/{}/{}/{name}/{version}",
        ctx.base_url.trim_end_matches('/'),
        ctx.account_id,
        ctx.region
    )
}

/// The download URL of a layer version's zip.
pub(crate) fn layer_code_url(ctx: &RequestContext, name: &str, version: i64) -> String {
    format!(
        "{}/_nimbus/{CODE_PATH}layer/{}/{}/{name}/{version}",
        ctx.base_url.trim_end_matches('/'),
        ctx.account_id,
        ctx.region
    )
}

impl Lambda {
    /// The zip a download path (below [`CODE_PATH`]) names, or `None` when it names nothing.
    pub fn code_download(&self, path: &str) -> Option<Vec<u8>> {
        let parts: Vec<&str> = path.split('/').collect();
        let [kind, account, region, name, version] = parts.as_slice() else {
            return None;
        };
        let ctx = RequestContext::internal(account, region, "");
        match *kind {
            "function" => match Version::parse(&version.replace("%24", "$"))? {
                Version::Latest => self.function_zip(&ctx, name).ok(),
                Version::Published(n) => self.version_zip(&ctx, name, n).ok(),
            },
            "layer" => {
                let number: i64 = version.parse().ok()?;
                self.db
                    .read(|tx| {
                        tx.query_one(
                            "SELECT zip FROM lambda_layers WHERE account = ?1 AND region = ?2 AND name = ?3 AND version = ?4",
                            &params![*account, *region, *name, number],
                        )?
                        .map(|row| row.blob(0).map(<[u8]>::to_vec))
                        .transpose()
                    })
                    .ok()
                    .flatten()
            }
            _ => None,
        }
    }
}
