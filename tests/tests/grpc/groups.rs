//! Groups over gRPC: create, roles and what each role may do.

use chat_host::grpc::proto;
use chat_tests::TestUser;
use tonic::Code;

use crate::support::{GrpcApp, as_user, assert_code, spawn_grpc};

fn on(group: &str, member: &TestUser) -> proto::UserGroupParticipantRequest {
    proto::UserGroupParticipantRequest {
        id: group.to_owned(),
        participant_id: member.id.to_string(),
        ..Default::default()
    }
}

fn group(id: &str) -> proto::UserGroupRequest {
    proto::UserGroupRequest { id: id.to_owned(), ..Default::default() }
}

fn role_of(list: &proto::ParticipantList, user: &TestUser) -> Option<(String, bool)> {
    list.participants.iter().find(|p| p.user_id == user.id.to_string()).map(|p| (p.role.clone(), p.is_admin))
}

async fn participants(grpc: &GrpcApp, user: &TestUser, id: &str) -> proto::ParticipantList {
    grpc.groups().get_participants(as_user(user, group(id))).await.unwrap().into_inner()
}

#[tokio::test]
async fn a_group_is_created_and_roles_decide_who_may_do_what() {
    let grpc = spawn_grpc().await;
    let (owner, ann, ben, cid) =
        (TestUser::new("owner"), TestUser::new("ann"), TestUser::new("ben"), TestUser::new("cid"));
    for u in [&ann, &ben, &cid] {
        grpc.app.touch(u).await;
    }

    let input = proto::CreateGroupInput {
        data: Some(proto::GroupInput { name: "Team".into(), description: Some("our team".into()) }),
        member_ids: vec![ann.id.to_string(), ben.id.to_string()],
        ..Default::default()
    };
    let created = grpc.groups().create(as_user(&owner, input)).await.unwrap().into_inner();
    assert_eq!(created.group, Some(true));
    assert_eq!(created.name.as_deref(), Some("Team"));
    assert_eq!(created.creator_id, Some(owner.id.to_string()));
    assert_eq!(created.member_count, 3);
    let id = created.id.clone();
    let list = participants(&grpc, &ben, &id).await;
    assert_eq!(list.participants.len(), 3);
    assert_eq!(role_of(&list, &owner), Some(("owner".into(), true)));
    assert_eq!(role_of(&list, &ann), Some(("member".into(), false)));
    assert!(list.participants.iter().all(|p| p.conversation_id == id && p.id == p.user_id));

    // A group is a conversation: members send to it.
    let message = grpc.send(&ann, &id, "hi team").await;
    assert_eq!(message.conversation_id, id);

    // A plain member may not add people or promote; the owner promotes Ann.
    let add = |user: &TestUser| proto::AddParticipantRequest {
        id: id.clone(),
        users: vec![user.id.to_string()],
        ..Default::default()
    };
    assert_code(grpc.groups().add_members(as_user(&ann, add(&cid))).await, Code::PermissionDenied, "member adds");
    assert_code(
        grpc.groups().make_admin(as_user(&ann, on(&id, &ann))).await,
        Code::PermissionDenied,
        "member promotes",
    );
    let after = grpc.groups().make_admin(as_user(&owner, on(&id, &ann))).await.unwrap().into_inner();
    assert_eq!(role_of(&after, &ann), Some(("admin".into(), true)));

    // The admin adds Cid and renames; a member may not rename; only the owner changes roles.
    assert!(grpc.groups().add_members(as_user(&ann, add(&cid))).await.unwrap().into_inner().success);
    assert_eq!(participants(&grpc, &cid, &id).await.participants.len(), 4);
    let rename = |name: &str| proto::UpdateGroupInput {
        id: id.clone(),
        data: Some(proto::GroupInput { name: name.into(), description: None }),
        ..Default::default()
    };
    assert!(grpc.groups().update(as_user(&ann, rename("Team A"))).await.unwrap().into_inner().success);
    assert_code(grpc.groups().update(as_user(&ben, rename("mine"))).await, Code::PermissionDenied, "member renames");
    let (_, rest) = grpc.app.get(&ben, &format!("/api/chat/groups/{id}")).await;
    assert_eq!((rest["name"].as_str(), rest["description"].as_str()), (Some("Team A"), Some("our team")), "{rest}");
    assert_code(grpc.groups().make_admin(as_user(&ann, on(&id, &ben))).await, Code::PermissionDenied, "admin promotes");
    let get = proto::GetConversation { id: id.clone(), ..Default::default() };
    let as_conversation = grpc.conversations().get(as_user(&ben, get)).await.unwrap().into_inner();
    assert_eq!((as_conversation.group, as_conversation.name.as_deref()), (Some(true), Some("Team A")));
    assert_eq!(as_conversation.member_count, 4);

    // Removing: the admin removes Cid, who no longer sees the group; a member may not remove others.
    assert_code(
        grpc.groups().remove_member(as_user(&ben, on(&id, &ann))).await,
        Code::PermissionDenied,
        "member removes",
    );
    let after = grpc.groups().remove_member(as_user(&ann, on(&id, &cid))).await.unwrap().into_inner();
    assert_eq!(after.participants.len(), 3);
    assert!(role_of(&after, &cid).is_none());
    let history = proto::GetConversation { id: id.clone(), ..Default::default() };
    assert_code(grpc.conversations().messages(as_user(&cid, history)).await, Code::NotFound, "removed member reads");

    // The owner demotes Ann, then promotes her back; Ben leaves.
    let after = grpc.groups().remove_admin(as_user(&owner, on(&id, &ann))).await.unwrap().into_inner();
    assert_eq!(role_of(&after, &ann), Some(("member".into(), false)));
    grpc.groups().make_admin(as_user(&owner, on(&id, &ann))).await.unwrap();
    let left = grpc.groups().leave(as_user(&ben, group(&id))).await.unwrap().into_inner();
    assert!(left.participants.is_empty());
    assert_code(grpc.groups().get_participants(as_user(&ben, group(&id))).await, Code::NotFound, "left member lists");

    // Only the owner deletes; ownership moves to Ann, who then deletes the group.
    assert_code(grpc.groups().delete(as_user(&ann, group(&id))).await, Code::PermissionDenied, "admin deletes");
    assert!(grpc.groups().make_owner(as_user(&owner, on(&id, &ann))).await.unwrap().into_inner().success);
    let list = participants(&grpc, &owner, &id).await;
    assert_eq!(role_of(&list, &ann), Some(("owner".into(), true)));
    assert_eq!(role_of(&list, &owner), Some(("admin".into(), true)));
    assert_code(
        grpc.groups().delete(as_user(&owner, group(&id))).await,
        Code::PermissionDenied,
        "former owner deletes",
    );
    assert!(grpc.groups().delete(as_user(&ann, group(&id))).await.unwrap().into_inner().success);
    let get = proto::GetConversation { id: id.clone(), ..Default::default() };
    assert_code(grpc.conversations().get(as_user(&ann, get)).await, Code::NotFound, "deleted group");
}

#[tokio::test]
async fn participants_are_paged() {
    let grpc = spawn_grpc().await;
    let owner = TestUser::new("owner");
    let members: Vec<TestUser> = (0..4).map(|i| TestUser::new(&format!("m{i}"))).collect();
    for m in &members {
        grpc.app.touch(m).await;
    }
    let input = proto::CreateGroupInput {
        data: Some(proto::GroupInput { name: "Paged".into(), description: None }),
        member_ids: members.iter().map(|m| m.id.to_string()).collect(),
        ..Default::default()
    };
    let id = grpc.groups().create(as_user(&owner, input)).await.unwrap().into_inner().id;
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let request =
            proto::UserGroupRequest { id: id.clone(), cursor: cursor.clone(), limit: Some(2), ..Default::default() };
        let page = grpc.groups().get_participants(as_user(&owner, request)).await.unwrap().into_inner();
        assert!(page.participants.len() <= 2);
        seen.extend(page.participants.into_iter().map(|p| p.user_id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    // Every participant exactly once across the pages: the owner and the four members.
    let mut expected: Vec<String> = members.iter().chain([&owner]).map(|u| u.id.to_string()).collect();
    expected.sort();
    seen.sort();
    assert_eq!(seen, expected);
}
