//! The permission matrix: owner / admin / member / non-member / other tenant × each group action and each
//! message action. Non-members and other tenants are answered as if the thing did not exist.

use chat_application::dto::{
    AddGroupMembersInput, ChangeMemberRoleInput, DeleteMessageInput, DeleteScopeDto, EditMessageInput,
    GetGroupMembersInput, GetMessagesInput, GroupRoleDto, MarkReadInput, TransferOwnershipInput, UpdateGroupInput,
};
use chat_application::{AppError, CallerContext};
use chat_domain::{ConversationId, MessageId};

use crate::support::{App, app, tenant};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Owner,
    Admin,
    Member,
    NonMember,
    OtherTenant,
}

const EVERYONE: [Who; 5] = [Who::Owner, Who::Admin, Who::Member, Who::NonMember, Who::OtherTenant];

struct World {
    app: App,
    owner: CallerContext,
    admin: CallerContext,
    member: CallerContext,
    target: CallerContext,
    outsider: CallerContext,
    foreigner: CallerContext,
    newcomer: CallerContext,
    group: ConversationId,
}

async fn world() -> World {
    let app = app();
    let owner = app.user("owner").await;
    let admin = app.user("admin").await;
    let member = app.user("member").await;
    let target = app.user("target").await;
    let outsider = app.user("outsider").await;
    let newcomer = app.user("newcomer").await;
    // Same user id as a member, but in another tenant: ids alone must never open a door.
    let foreigner = CallerContext::new(tenant(), member.user).with_names("member", None, None);
    app.chat.users().sync_caller(&foreigner).await.unwrap();
    let group = app.group(&owner, &[&admin, &member, &target]).await;
    let group = ConversationId::from_uuid(group.id);
    let admin_role = ChangeMemberRoleInput { role: GroupRoleDto::Admin };
    app.chat.groups().change_member_role(&owner, group, admin.user, admin_role).await.unwrap();
    app.sender.clear();
    World { app, owner, admin, member, target, outsider, foreigner, newcomer, group }
}

impl World {
    fn caller(&self, who: Who) -> &CallerContext {
        match who {
            Who::Owner => &self.owner,
            Who::Admin => &self.admin,
            Who::Member => &self.member,
            Who::NonMember => &self.outsider,
            Who::OtherTenant => &self.foreigner,
        }
    }
}

fn outcome(result: Result<(), AppError>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(e) => e.code(),
    }
}

const OK: &str = "ok";
const NF: &str = "chat.not_found";
const FB: &str = "chat.forbidden";

async fn group_action(w: &World, action: &str, c: &CallerContext) -> Result<(), AppError> {
    let groups = w.app.chat.groups();
    let g = w.group;
    match action {
        "get" => groups.get_group(c, g).await.map(drop),
        "members" => groups.get_members(c, g, GetGroupMembersInput::default()).await.map(drop),
        "update" => {
            let input = UpdateGroupInput { name: "New".into(), ..Default::default() };
            groups.update_group(c, g, input).await.map(drop)
        }
        "add" => {
            let input = AddGroupMembersInput { user_ids: vec![w.newcomer.user.as_uuid()] };
            groups.add_members(c, g, input).await.map(drop)
        }
        "remove" => groups.remove_member(c, g, w.target.user).await,
        "role" => {
            groups.change_member_role(c, g, w.target.user, ChangeMemberRoleInput { role: GroupRoleDto::Admin }).await
        }
        "transfer" => {
            let input = TransferOwnershipInput { user_id: w.target.user.as_uuid() };
            groups.transfer_ownership(c, g, input).await.map(drop)
        }
        "delete" => groups.delete_group(c, g).await,
        "leave" => groups.leave_group(c, g).await,
        "post" => w.app.try_post(c, g.as_uuid(), "hi").await.map(drop),
        "history" => w.app.chat.conversations().get_messages(c, g, GetMessagesInput::default()).await.map(drop),
        other => panic!("unknown action {other}"),
    }
}

#[tokio::test]
async fn group_actions_by_role() {
    let table: [(&str, [&str; 5]); 11] = [
        ("get", [OK, OK, OK, NF, NF]),
        ("members", [OK, OK, OK, NF, NF]),
        ("history", [OK, OK, OK, NF, NF]),
        ("post", [OK, OK, OK, NF, NF]),
        ("update", [OK, OK, FB, NF, NF]),
        ("add", [OK, OK, FB, NF, NF]),
        ("remove", [OK, OK, FB, NF, NF]),
        ("role", [OK, FB, FB, NF, NF]),
        ("transfer", [OK, FB, FB, NF, NF]),
        ("delete", [OK, FB, FB, NF, NF]),
        ("leave", [OK, OK, OK, NF, NF]),
    ];
    for (action, expected) in table {
        for (who, want) in EVERYONE.into_iter().zip(expected) {
            let w = world().await;
            let got = outcome(group_action(&w, action, w.caller(who)).await);
            assert_eq!(got, want, "{action} by {who:?}");
            if got != OK {
                assert!(w.app.sender.events().is_empty(), "{action} by {who:?} announced something");
            }
        }
    }
}

#[tokio::test]
async fn nobody_removes_the_owner_and_admins_do_not_remove_admins() {
    let w = world().await;
    let groups = w.app.chat.groups();
    assert_eq!(outcome(groups.remove_member(&w.admin, w.group, w.owner.user).await), FB);
    let promote = ChangeMemberRoleInput { role: GroupRoleDto::Admin };
    groups.change_member_role(&w.owner, w.group, w.target.user, promote).await.unwrap();
    assert_eq!(outcome(groups.remove_member(&w.admin, w.group, w.target.user).await), FB);
    assert_eq!(outcome(groups.remove_member(&w.member, w.group, w.member.user).await), OK, "anyone may leave");
    assert_eq!(outcome(groups.remove_member(&w.owner, w.group, w.target.user).await), OK);
}

async fn message_action(w: &World, action: &str, c: &CallerContext, m: MessageId) -> Result<(), AppError> {
    let svc = w.app.chat.conversations();
    match action {
        "get" => svc.get_message(c, m).await.map(drop),
        "receipts" => svc.get_receipts(c, m).await.map(drop),
        "edit" => svc.edit_message(c, m, EditMessageInput { text: "changed".into() }).await.map(drop),
        "delete_me" => svc.delete_message(c, m, DeleteMessageInput { scope: DeleteScopeDto::Me }).await,
        "delete_all" => svc.delete_message(c, m, DeleteMessageInput { scope: DeleteScopeDto::Everyone }).await,
        "react" => svc.add_reaction(c, m, "👍").await,
        "unreact" => svc.remove_reaction(c, m, "👍").await,
        "read" => svc.mark_read(c, w.group, MarkReadInput { up_to_message_id: Some(m.as_uuid()) }).await,
        other => panic!("unknown action {other}"),
    }
}

#[tokio::test]
async fn message_actions_by_role() {
    // The message is written by the plain member; "Member" below is its author, "Target" another member.
    let table: [(&str, [&str; 6]); 8] = [
        ("get", [OK, OK, OK, OK, NF, NF]),
        ("receipts", [OK, OK, OK, OK, NF, NF]),
        ("react", [OK, OK, OK, OK, NF, NF]),
        ("unreact", [OK, OK, OK, OK, NF, NF]),
        ("read", [OK, OK, OK, OK, NF, NF]),
        ("delete_me", [OK, OK, OK, OK, NF, NF]),
        ("edit", [FB, FB, OK, FB, NF, NF]),
        ("delete_all", [OK, OK, OK, FB, NF, NF]),
    ];
    for (action, expected) in table {
        for (index, want) in expected.into_iter().enumerate() {
            let w = world().await;
            let m = MessageId::from_uuid(w.app.post(&w.member, w.group.as_uuid(), "by member").await.id);
            w.app.sender.clear();
            let caller = [&w.owner, &w.admin, &w.member, &w.target, &w.outsider, &w.foreigner][index];
            let got = outcome(message_action(&w, action, caller, m).await);
            assert_eq!(got, want, "{action} by actor #{index}");
            if got != OK {
                assert!(w.app.sender.events().is_empty(), "{action} by #{index} announced something");
            }
        }
    }
}

#[tokio::test]
async fn direct_messages_are_private_to_their_two_members() {
    let app = app();
    let (alice, bob, eve) = (app.user("alice").await, app.user("bob").await, app.user("eve").await);
    let m = app.send(&alice, &bob, "secret").await;
    let id = ConversationId::from_uuid(m.conversation_id);
    let svc = app.chat.conversations();
    assert_eq!(outcome(svc.get_conversation(&eve, id).await.map(drop)), NF);
    assert_eq!(outcome(svc.get_messages(&eve, id, GetMessagesInput::default()).await.map(drop)), NF);
    assert_eq!(outcome(app.try_post(&eve, m.conversation_id, "let me in").await.map(drop)), NF);
    assert_eq!(outcome(svc.get_message(&eve, MessageId::from_uuid(m.id)).await.map(drop)), NF);
    assert_eq!(outcome(svc.delete_conversation(&eve, id).await), NF);
    let mute = chat_application::dto::MuteConversationInput { muted: true };
    assert_eq!(outcome(svc.set_muted(&eve, id, mute).await.map(drop)), NF);
    assert_eq!(
        outcome(app.chat.groups().get_group(&alice, id).await.map(drop)),
        NF,
        "a direct conversation is no group"
    );
}
