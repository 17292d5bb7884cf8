use chat_application::dto::{
    GetContactsInput, MarkReadInput, MessageSideDto, UpdateChatSettingsInput, UpdateTenantSettingsInput,
};
use chat_domain::ConversationId;

use crate::support::{app, field};

#[tokio::test]
async fn contacts_are_the_people_i_talk_with_newest_first() {
    let app = app();
    let me = app.user("me").await;
    let (ann, ben) = (app.user("ann").await, app.user("ben").await);
    let _cid = app.user("cid").await;
    app.send(&ann, &me, "a1").await;
    app.send(&ann, &me, "a2").await;
    app.send(&me, &ben, "b1").await;
    let group_mate = app.user("gus").await;
    app.group(&me, &[&group_mate]).await;
    let contacts = app.chat.contacts().get_contacts(&me, GetContactsInput::default()).await.unwrap();
    let names: Vec<_> = contacts.iter().map(|c| c.user_name.as_str()).collect();
    assert_eq!(names, ["ben", "ann"], "groups are not contacts, and people I never wrote to are not listed");
    assert_eq!((contacts[0].last_message_side, contacts[0].unread_message_count), (Some(MessageSideDto::Send), 0));
    assert_eq!(contacts[1].unread_message_count, 2);
    assert_eq!(contacts[1].last_message.as_ref().and_then(|m| m.text.as_deref()), Some("a2"));
    app.chat
        .conversations()
        .mark_read(&me, ConversationId::from_uuid(contacts[1].conversation_id.unwrap()), MarkReadInput::default())
        .await
        .unwrap();
    let filtered = app
        .chat
        .contacts()
        .get_contacts(&me, GetContactsInput { filter: Some("AN".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(
        filtered.iter().map(|c| (c.user_name.as_str(), c.unread_message_count)).collect::<Vec<_>>(),
        [("ann", 0)]
    );
}

#[tokio::test]
async fn other_contacts_follow_when_the_tenant_allows_it() {
    let app = app();
    let admin = app.user("admin").await.as_tenant_admin();
    let me = app.user("me").await;
    let ann = app.user("ann").await;
    app.user("cid").await;
    app.send(&ann, &me, "hi").await;
    let with_others = GetContactsInput { include_other_contacts: true, ..Default::default() };
    let contacts = app.chat.contacts().get_contacts(&me, with_others.clone()).await.unwrap();
    let mut names: Vec<_> = contacts.iter().map(|c| c.user_name.clone()).collect();
    assert_eq!(names[0], "ann");
    names.sort();
    assert_eq!(names, ["admin", "ann", "cid"], "not myself, and ann only once");
    assert!(contacts.iter().filter(|c| c.user_name != "ann").all(|c| c.conversation_id.is_none()));
    let filtered = GetContactsInput { include_other_contacts: true, filter: Some("ci".into()), ..Default::default() };
    let found = app.chat.contacts().get_contacts(&me, filtered).await.unwrap();
    assert_eq!(found.iter().map(|c| c.user_name.as_str()).collect::<Vec<_>>(), ["cid"]);
    let off = UpdateChatSettingsInput {
        tenant: Some(UpdateTenantSettingsInput { search_other_contacts: Some(false), ..Default::default() }),
        ..Default::default()
    };
    app.chat.settings().update_settings(&admin, off).await.unwrap();
    let contacts = app.chat.contacts().get_contacts(&me, with_others).await.unwrap();
    assert_eq!(contacts.iter().map(|c| c.user_name.as_str()).collect::<Vec<_>>(), ["ann"]);
    let long = GetContactsInput { filter: Some("x".repeat(300)), ..Default::default() };
    assert_eq!(field(app.chat.contacts().get_contacts(&me, long).await), "filter");
}
