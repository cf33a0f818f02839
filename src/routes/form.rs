//! `Form<T>`: a url-encoded form body deserialized into a struct by `serde_html_form`, which
//! reads repeated fields (`task_ids=1&task_ids=2`) into a `Vec`, as browsers send checkboxes
//! and multi-selects. actix's own `web::Form` (serde_urlencoded) cannot, which is why forms
//! were once taken apart by hand. Same answers as `routes::form_config`: 400 with what was
//! wrong, 413 over `domain::limits::MAX_FORM_BYTES`, never a 500.

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::domain::limits::MAX_FORM_BYTES;
use crate::error::AppError;

pub struct Form<T>(pub T);

impl<T> Form<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let url_encoded = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim() == "application/x-www-form-urlencoded");
        let mut payload = payload.take();
        Box::pin(async move {
            if !url_encoded {
                return Err(AppError::bad_request(
                    "The form could not be read: it is not a url-encoded form.",
                ));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    AppError::bad_request(format!("The form could not be read: {e}"))
                })?;
                if body.len() + chunk.len() > MAX_FORM_BYTES {
                    return Err(AppError::form_too_large());
                }
                body.extend_from_slice(&chunk);
            }
            serde_html_form::from_bytes(&body)
                .map(Form)
                .map_err(|e| AppError::bad_request(format!("The form could not be read: {e}.")))
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::FromRequest;
    use actix_web::test::TestRequest;
    use serde::Deserialize;

    use super::Form;
    use crate::error::AppError;

    #[derive(Deserialize, Debug)]
    struct Picked {
        #[serde(default)]
        ids: Vec<i64>,
        #[serde(default)]
        note: String,
    }

    async fn read(content_type: &str, body: &str) -> Result<Picked, AppError> {
        let (req, mut payload) = TestRequest::post()
            .insert_header(("content-type", content_type))
            .set_payload(body.to_owned())
            .to_http_parts();
        Form::<Picked>::from_request(&req, &mut payload)
            .await
            .map(Form::into_inner)
    }

    #[actix_web::test]
    async fn repeated_fields_fill_a_vec_and_bad_values_are_refused_with_the_reason() {
        let form = read("application/x-www-form-urlencoded", "ids=3&note=hi&ids=5")
            .await
            .unwrap();
        assert_eq!((form.ids, form.note.as_str()), (vec![3, 5], "hi"));
        let empty = read("application/x-www-form-urlencoded", "").await.unwrap();
        assert!(empty.ids.is_empty());
        let bad = read("application/x-www-form-urlencoded", "ids=x")
            .await
            .unwrap_err();
        assert!(matches!(&bad, AppError::BadRequest(m) if m.contains("could not be read")));
        let json = read("application/json", "{}").await.unwrap_err();
        assert!(matches!(json, AppError::BadRequest(_)));
    }
}
