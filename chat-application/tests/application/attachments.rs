//! Attachments: uploads are typed by their content and capped by their type's limit; downloads are for the
//! uploader until a message carries the file, then for the members of that conversation only.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use chat_application::blob::{Bytes, InMemoryBlobStore, Stream, byte_stream, read_all};
use chat_application::dto::{
    AttachmentKindDto, DeleteMessageInput, DeleteScopeDto, SendMessageInput, UploadAttachmentInput,
    UploadedAttachmentDto,
};
use chat_application::sniff::samples;
use chat_application::{
    AppError, BlobKey, CallerContext, ChatOptions, GovernorRateLimiter, RateLimit, RateLimitOptions,
    UnlimitedRateLimiter,
};
use chat_domain::{AttachmentId, ConversationId, MessageId};

use crate::support::{App, app, app_with, code, field, tenant};

struct Uploads {
    app: App,
    blobs: Arc<InMemoryBlobStore>,
}

fn uploads() -> Uploads {
    let blobs = Arc::new(InMemoryBlobStore::new());
    let store = blobs.clone();
    let app = app_with(move |b| b.rate_limiter(Arc::new(UnlimitedRateLimiter)).blob_store(store));
    Uploads { app, blobs }
}

fn input(name: &str, bytes: &[u8]) -> UploadAttachmentInput {
    // Two chunks, so the type is detected across chunk boundaries.
    let (a, b) = bytes.split_at(bytes.len() / 2);
    UploadAttachmentInput {
        file_name: name.into(),
        declared_content_type: None,
        body: byte_stream([Bytes::copy_from_slice(a), Bytes::copy_from_slice(b)]),
    }
}

impl Uploads {
    async fn try_upload(
        &self,
        caller: &CallerContext,
        name: &str,
        bytes: &[u8],
    ) -> Result<UploadedAttachmentDto, AppError> {
        self.app.chat.attachments().upload(caller, input(name, bytes)).await
    }

    async fn upload(&self, caller: &CallerContext, name: &str, bytes: &[u8]) -> UploadedAttachmentDto {
        self.try_upload(caller, name, bytes).await.unwrap()
    }

    async fn try_fetch(&self, caller: &CallerContext, id: uuid::Uuid) -> Result<Vec<u8>, AppError> {
        let download = self.app.chat.attachments().download(caller, AttachmentId::from_uuid(id)).await?;
        Ok(read_all(download.body, u64::MAX).await.unwrap())
    }

    async fn send_with(
        &self,
        from: &CallerContext,
        to: &CallerContext,
        ids: &[uuid::Uuid],
    ) -> Result<chat_application::dto::MessageDto, AppError> {
        self.app.tick();
        let input = SendMessageInput {
            target_user_id: Some(to.user.as_uuid()),
            text: "see attached".into(),
            attachment_ids: ids.to_vec(),
            ..Default::default()
        };
        self.app.chat.conversations().send_message(from, input).await
    }
}

#[tokio::test]
async fn every_accepted_type_uploads_with_the_type_found_in_its_content() {
    let u = uploads();
    let alice = u.app.user("alice").await;
    let cases: [(Vec<u8>, &str, &str, AttachmentKindDto); 13] = [
        (samples::jpeg(), "a.jpg", "image/jpeg", AttachmentKindDto::Image),
        (samples::png(), "a.png", "image/png", AttachmentKindDto::Image),
        (samples::gif(), "a.gif", "image/gif", AttachmentKindDto::Image),
        (samples::webp(), "a.webp", "image/webp", AttachmentKindDto::Image),
        (samples::mp4(), "a.mp4", "video/mp4", AttachmentKindDto::Video),
        (samples::webm(), "a.webm", "video/webm", AttachmentKindDto::Video),
        (samples::mov(), "a.mov", "video/quicktime", AttachmentKindDto::Video),
        (samples::pdf(), "a.pdf", "application/pdf", AttachmentKindDto::File),
        (samples::ole(), "a.doc", "application/msword", AttachmentKindDto::File),
        (samples::ole(), "a.xls", "application/vnd.ms-excel", AttachmentKindDto::File),
        (
            samples::docx(),
            "a.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            AttachmentKindDto::File,
        ),
        (
            samples::xlsx(),
            "a.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            AttachmentKindDto::File,
        ),
        (samples::zip(), "a.zip", "application/zip", AttachmentKindDto::File),
    ];
    for (bytes, name, mime, kind) in &cases {
        let dto = u.upload(&alice, name, bytes).await;
        assert_eq!((dto.file_name.as_str(), dto.mime_type.as_str(), dto.kind), (*name, *mime, *kind));
        assert_eq!(dto.size, bytes.len() as i64);
        assert_eq!(dto.created_at, u.app.clock_now());
        let key = BlobKey::for_attachment(alice.tenant, AttachmentId::from_uuid(dto.id));
        assert_eq!(u.blobs.get(&key).as_deref(), Some(bytes.as_slice()), "{name}");
        assert_eq!(&u.try_fetch(&alice, dto.id).await.unwrap(), bytes);
    }
    assert_eq!(u.blobs.len(), cases.len());
}

#[tokio::test]
async fn the_content_decides_the_type_and_the_name_is_kept_without_paths() {
    let u = uploads();
    let alice = u.app.user("alice").await;
    let mut input = input("../../photos/holiday.jpg", &samples::png());
    input.declared_content_type = Some("image/jpeg".into());
    let dto = u.app.chat.attachments().upload(&alice, input).await.unwrap();
    assert_eq!(dto.mime_type, "image/png");
    assert_eq!(dto.file_name, "....photosholiday.jpg");
}

#[tokio::test]
async fn a_spoofed_type_is_refused_and_nothing_is_stored() {
    let u = uploads();
    let alice = u.app.user("alice").await;
    let html = b"<!doctype html><html><script>fetch('/steal')</script></html>";
    let mut spoof = input("evil.png", html);
    spoof.declared_content_type = Some("image/png".into());
    assert_eq!(field(u.app.chat.attachments().upload(&alice, spoof).await), "file");
    assert_eq!(field(u.try_upload(&alice, "notes.txt", b"just some text").await), "file");
    assert_eq!(field(u.try_upload(&alice, "old.bin", &samples::ole()).await), "file");
    assert_eq!(field(u.try_upload(&alice, "empty.png", b"").await), "file");
    assert!(u.blobs.is_empty());
}

#[tokio::test]
async fn an_oversized_file_is_refused_with_nothing_stored() {
    let u = uploads();
    let alice = u.app.user("alice").await;
    // A PNG one byte over the 10 MB image limit, in 1 MB chunks.
    let mut chunks = vec![Bytes::from(samples::png())];
    let chunk = Bytes::from(vec![0u8; 1_000_000]);
    let mut size = chunks[0].len();
    while size + chunk.len() <= 10_000_000 {
        chunks.push(chunk.clone());
        size += chunk.len();
    }
    chunks.push(Bytes::from(vec![0u8; 10_000_001 - size]));
    let upload =
        UploadAttachmentInput { file_name: "big.png".into(), declared_content_type: None, body: byte_stream(chunks) };
    let error = u.app.chat.attachments().upload(&alice, upload).await.unwrap_err();
    assert_eq!(error.code(), "chat.validation");
    assert_eq!(error.field_errors()[0].field, "file");
    assert!(error.field_errors()[0].message.contains("10000000"), "{error}");
    assert!(u.blobs.is_empty());
    // The same size is fine for a video, whose limit is 100 MB.
    let mut chunks = vec![Bytes::from(samples::mp4())];
    chunks.extend(std::iter::repeat_n(chunk, 10));
    let video =
        UploadAttachmentInput { file_name: "clip.mp4".into(), declared_content_type: None, body: byte_stream(chunks) };
    let dto = u.app.chat.attachments().upload(&alice, video).await.unwrap();
    assert_eq!(dto.size, 10_000_000 + samples::mp4().len() as i64);
    assert_eq!(u.blobs.len(), 1);
}

/// A body that yields some bytes, then fails (a client that went away).
struct Failing(u8);

impl Stream for Failing {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0 += 1;
        Poll::Ready(Some(match self.0 {
            1 => Ok(Bytes::from(samples::pdf())),
            2 => Ok(Bytes::from(vec![b'x'; 20_000])),
            _ => Err(io::Error::new(io::ErrorKind::ConnectionReset, "client went away")),
        }))
    }
}

#[tokio::test]
async fn an_interrupted_upload_is_refused_with_nothing_stored() {
    let u = uploads();
    let alice = u.app.user("alice").await;
    let upload =
        UploadAttachmentInput { file_name: "a.pdf".into(), declared_content_type: None, body: Box::pin(Failing(0)) };
    assert_eq!(field(u.app.chat.attachments().upload(&alice, upload).await), "file");
    assert!(u.blobs.is_empty());
}

#[tokio::test]
async fn the_uploader_may_fetch_before_sending_and_nobody_else_may() {
    let u = uploads();
    let (alice, bob) = (u.app.user("alice").await, u.app.user("bob").await);
    let mallory = u.app.user_in(tenant(), "mallory").await;
    let dto = u.upload(&alice, "a.pdf", &samples::pdf()).await;
    assert_eq!(u.try_fetch(&alice, dto.id).await.unwrap(), samples::pdf());
    assert_eq!(code(u.try_fetch(&bob, dto.id).await), "chat.not_found");
    assert_eq!(code(u.try_fetch(&mallory, dto.id).await), "chat.not_found");
    assert_eq!(code(u.try_fetch(&alice, uuid::Uuid::new_v4()).await), "chat.not_found");
    let svc = u.app.chat.attachments();
    assert_eq!(svc.get(&alice, AttachmentId::from_uuid(dto.id)).await.unwrap(), dto);
    assert_eq!(code(svc.get(&bob, AttachmentId::from_uuid(dto.id)).await), "chat.not_found");
}

#[tokio::test]
async fn once_sent_the_members_may_fetch_it_and_outsiders_may_not() {
    let u = uploads();
    let (alice, bob, carol) = (u.app.user("alice").await, u.app.user("bob").await, u.app.user("carol").await);
    let mallory = u.app.user_in(tenant(), "mallory").await;
    let dto = u.upload(&alice, "photo.png", &samples::png()).await;
    let message = u.send_with(&alice, &bob, &[dto.id]).await.unwrap();
    let carried = &message.attachments[0];
    assert_eq!(
        (carried.id, carried.file_name.as_str(), carried.mime_type.as_str(), carried.size),
        (dto.id, "photo.png", "image/png", dto.size)
    );
    let history = u.app.chat.conversations().get_message(&bob, MessageId::from_uuid(message.id)).await.unwrap();
    assert_eq!(history.attachments, message.attachments);
    assert_eq!(u.try_fetch(&bob, dto.id).await.unwrap(), samples::png());
    assert_eq!(u.try_fetch(&alice, dto.id).await.unwrap(), samples::png());
    assert_eq!(code(u.try_fetch(&carol, dto.id).await), "chat.not_found");
    assert_eq!(code(u.try_fetch(&mallory, dto.id).await), "chat.not_found");
    // Deleted for everyone: nobody may fetch it any more.
    let everyone = DeleteMessageInput { scope: DeleteScopeDto::Everyone };
    u.app.chat.conversations().delete_message(&alice, MessageId::from_uuid(message.id), everyone).await.unwrap();
    assert_eq!(code(u.try_fetch(&bob, dto.id).await), "chat.not_found");
    assert_eq!(code(u.try_fetch(&alice, dto.id).await), "chat.not_found");
}

#[tokio::test]
async fn a_member_removed_from_the_group_may_no_longer_fetch_it() {
    let u = uploads();
    let (alice, bob, carol) = (u.app.user("alice").await, u.app.user("bob").await, u.app.user("carol").await);
    let group = u.app.group(&alice, &[&bob, &carol]).await;
    let dto = u.upload(&bob, "sheet.xlsx", &samples::xlsx()).await;
    u.app.tick();
    let input = SendMessageInput {
        conversation_id: Some(group.id),
        text: "numbers".into(),
        attachment_ids: vec![dto.id],
        ..Default::default()
    };
    u.app.chat.conversations().send_message(&bob, input).await.unwrap();
    assert_eq!(u.try_fetch(&carol, dto.id).await.unwrap(), samples::xlsx());
    let groups = u.app.chat.groups();
    groups.remove_member(&alice, ConversationId::from_uuid(group.id), carol.user).await.unwrap();
    assert_eq!(code(u.try_fetch(&carol, dto.id).await), "chat.not_found");
    assert_eq!(u.try_fetch(&alice, dto.id).await.unwrap(), samples::xlsx());
    // The uploader too loses access when they leave: the conversation holds the file now.
    groups.leave_group(&bob, ConversationId::from_uuid(group.id)).await.unwrap();
    assert_eq!(code(u.try_fetch(&bob, dto.id).await), "chat.not_found");
}

#[tokio::test]
async fn only_the_uploader_may_send_an_attachment_and_only_once() {
    let u = uploads();
    let (alice, bob, carol) = (u.app.user("alice").await, u.app.user("bob").await, u.app.user("carol").await);
    let dto = u.upload(&alice, "a.pdf", &samples::pdf()).await;
    assert_eq!(code(u.send_with(&bob, &carol, &[dto.id]).await), "chat.not_found");
    assert_eq!(code(u.try_fetch(&carol, dto.id).await), "chat.not_found");
    u.send_with(&alice, &bob, &[dto.id]).await.unwrap();
    // Already carried by a message: it cannot be sent again, to anyone.
    assert_eq!(code(u.send_with(&alice, &carol, &[dto.id]).await), "chat.not_found");
    assert_eq!(code(u.try_fetch(&carol, dto.id).await), "chat.not_found");
}

#[tokio::test]
async fn without_a_blob_store_attachments_are_unavailable() {
    let app = app();
    let alice = app.user("alice").await;
    assert!(!app.chat.attachments().is_enabled());
    assert_eq!(code(app.chat.attachments().upload(&alice, input("a.png", &samples::png())).await), "chat.internal");
    let id = AttachmentId::from_uuid(uuid::Uuid::new_v4());
    assert_eq!(code(app.chat.attachments().download(&alice, id).await), "chat.internal");
}

#[tokio::test]
async fn uploads_and_downloads_draw_from_the_other_calls_budget() {
    let limits = RateLimitOptions { other: RateLimit::per_second(1, 2), ..Default::default() };
    let blobs = Arc::new(InMemoryBlobStore::new());
    let store = blobs.clone();
    let app = app_with(move |b| {
        b.rate_limiter(Arc::new(GovernorRateLimiter::new(limits)))
            .options(ChatOptions { rate_limits: limits, ..Default::default() })
            .blob_store(store)
    });
    let alice = app.user("alice").await;
    let svc = app.chat.attachments();
    let dto = svc.upload(&alice, input("a.gif", &samples::gif())).await.unwrap();
    svc.download(&alice, AttachmentId::from_uuid(dto.id)).await.unwrap();
    assert_eq!(code(svc.upload(&alice, input("b.gif", &samples::gif())).await), "chat.rate_limited");
    assert_eq!(blobs.len(), 1);
}
