//! Object stores for `s3://`, `gs://`, `az://` and `http(s)://` locations. Credentials
//! come from the environment only (the builders' `from_env`), never from pipeline files.

use std::sync::Arc;

use datafusion::object_store::{self, ObjectStore};

/// Why an object store could not be set up for a URL.
#[derive(Debug, thiserror::Error)]
#[error("cannot open object store for {url}: {source}")]
pub struct ObjectStoreError {
    pub url: String,
    #[source]
    pub source: object_store::Error,
}

/// The store that serves `url` (its scheme and bucket/host), built from the environment.
///
/// S3 reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`
/// and `AWS_ALLOW_HTTP`; GCS `GOOGLE_SERVICE_ACCOUNT`; Azure `AZURE_STORAGE_ACCOUNT_NAME`
/// and `AZURE_STORAGE_ACCOUNT_KEY`.
///
/// # Errors
/// When the scheme is not supported or the builder rejects the configuration.
pub fn store_for(url: &url::Url) -> Result<Arc<dyn ObjectStore>, ObjectStoreError> {
    let err = |source| ObjectStoreError { url: url.to_string(), source };
    let base = format!("{}://{}", url.scheme(), url.authority());
    let store: Arc<dyn ObjectStore> = match url.scheme() {
        "s3" | "s3a" => Arc::new(object_store::aws::AmazonS3Builder::from_env().with_url(base).build().map_err(err)?),
        "gs" => Arc::new(object_store::gcp::GoogleCloudStorageBuilder::from_env().with_url(base).build().map_err(err)?),
        "az" | "abfs" | "abfss" => {
            Arc::new(object_store::azure::MicrosoftAzureBuilder::from_env().with_url(base).build().map_err(err)?)
        }
        "http" | "https" => {
            // Plain http is allowed when the URL says so: the user chose it explicitly.
            let options = object_store::ClientOptions::new().with_allow_http(url.scheme() == "http");
            Arc::new(
                object_store::http::HttpBuilder::new()
                    .with_url(base)
                    .with_client_options(options)
                    .build()
                    .map_err(err)?,
            )
        }
        "file" => Arc::new(object_store::local::LocalFileSystem::new()),
        other => {
            return Err(err(object_store::Error::Generic {
                store: "sextant",
                source: format!("unsupported scheme `{other}`").into(),
            }));
        }
    };
    Ok(store)
}

/// `scheme://authority`, the key under which DataFusion finds the store for `url`.
pub fn store_key(url: &url::Url) -> Option<url::Url> {
    url::Url::parse(&format!("{}://{}", url.scheme(), url.authority())).ok()
}
