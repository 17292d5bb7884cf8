use std::io::Write;
use std::path::Path;

use uuid::Uuid;

/// Namespace of the name-based (v5) user ids that development mode and `chat-host token --user NAME` give
/// to user names, so that the same name always maps to the same id.
pub const DEV_USER_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a57_9d3e_4b8a_a0c4_51e2_7d90_3b6c);

/// The user id for `user`: the UUID itself when it is one, else the v5 UUID of the name.
pub fn user_id_for(user: &str) -> Uuid {
    let user = user.trim();
    Uuid::parse_str(user).unwrap_or_else(|_| Uuid::new_v5(&DEV_USER_NAMESPACE, user.as_bytes()))
}

/// Reads development mode's secret from `path`, creating it (readable by the owner only) on first use, so
/// that tokens stay valid across restarts of a development server.
pub fn load_or_create_dev_secret(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // Two v4 UUIDs: 244 random bits from the operating system's generator.
    let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())?;
            file.sync_all()?;
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(std::fs::read_to_string(path)?.trim().to_owned()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_stable_ids_and_uuids_to_themselves() {
        assert_eq!(user_id_for("alice"), user_id_for("alice"));
        assert_ne!(user_id_for("alice"), user_id_for("bob"));
        let id = Uuid::new_v4();
        assert_eq!(user_id_for(&id.to_string()), id);
    }

    #[test]
    fn the_dev_secret_is_kept_across_calls() {
        let path = std::env::temp_dir().join(format!("chat-dev-secret-{}", Uuid::new_v4()));
        let a = load_or_create_dev_secret(&path).unwrap();
        let b = load_or_create_dev_secret(&path).unwrap();
        assert_eq!(a, b);
        assert!(a.len() >= 64);
        let _ = std::fs::remove_file(&path);
    }
}
