//! Dropping root: after the device is open and the listener bound, the daemon becomes an
//! ordinary user (by default `nobody`) with no supplementary groups, and checks that it
//! cannot get root back.

use nix::unistd::{Gid, Uid, User};

/// Why the daemon could not become the unprivileged user.
#[derive(Debug, thiserror::Error)]
pub enum PrivError {
    /// Not started as root.
    #[error(
        "tapd must be started as root (it creates a TAP device), e.g. sudo tapd; then it drops to --user"
    )]
    NotRoot,
    /// The account does not exist.
    #[error("no such user {0:?} for --user")]
    NoSuchUser(String),
    /// The account is root, which would drop nothing.
    #[error("--user {0:?} is root (uid 0); choose an unprivileged account such as nobody")]
    UserIsRoot(String),
    /// Looking the account up failed.
    #[error("looking up user {user:?}: {source}")]
    Lookup {
        /// The account.
        user: String,
        /// The error.
        source: nix::Error,
    },
    /// A system call of the drop failed.
    #[error("{step}: {source}")]
    Call {
        /// Which call.
        step: &'static str,
        /// The error.
        source: nix::Error,
    },
    /// After the drop, some id is still privileged.
    #[error("privileges still held after the drop: {0}")]
    StillPrivileged(String),
}

/// The identity the daemon runs as after [`drop_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// The user id (real, effective and saved).
    pub uid: Uid,
    /// The group id (real, effective and saved).
    pub gid: Gid,
}

/// Refuses to go on unless the effective user is root.
pub fn require_root() -> Result<(), PrivError> {
    if Uid::effective().is_root() {
        Ok(())
    } else {
        Err(PrivError::NotRoot)
    }
}

/// Looks up the account to drop to, before anything is created, so a typo fails early.
pub fn lookup(user: &str) -> Result<User, PrivError> {
    let found = User::from_name(user).map_err(|source| PrivError::Lookup {
        user: user.to_string(),
        source,
    })?;
    let found = found.ok_or_else(|| PrivError::NoSuchUser(user.to_string()))?;
    if found.uid.is_root() {
        return Err(PrivError::UserIsRoot(user.to_string()));
    }
    Ok(found)
}

/// Drops to `user`: no supplementary groups, then its gid, then its uid (real, effective and
/// saved, which `setuid` sets together when called as root), then `no_new_privs` so no
/// set-uid program can raise us again. Then checks that root cannot be regained.
///
/// Call this before starting any thread, so every thread runs with the new identity.
pub fn drop_to(user: &User) -> Result<Dropped, PrivError> {
    use nix::unistd::{getgroups, getresgid, getresuid, setgid, setgroups, setuid};
    let call = |step| move |source| PrivError::Call { step, source };
    setgroups(&[]).map_err(call("setgroups([])"))?;
    setgid(user.gid).map_err(call("setgid"))?;
    setuid(user.uid).map_err(call("setuid"))?;
    nix::sys::prctl::set_no_new_privs().map_err(call("prctl(PR_SET_NO_NEW_PRIVS)"))?;

    let uids = getresuid().map_err(call("getresuid"))?;
    let gids = getresgid().map_err(call("getresgid"))?;
    let groups = getgroups().map_err(call("getgroups"))?;
    let held = [
        (uids.real != user.uid, "real uid"),
        (uids.effective != user.uid, "effective uid"),
        (uids.saved != user.uid, "saved uid"),
        (gids.real != user.gid, "real gid"),
        (gids.effective != user.gid, "effective gid"),
        (gids.saved != user.gid, "saved gid"),
        (
            !groups.iter().all(|g| *g == user.gid),
            "supplementary groups",
        ),
        (setuid(Uid::from_raw(0)).is_ok(), "setuid(0) succeeds"),
    ];
    let held: Vec<&str> = held.iter().filter(|(b, _)| *b).map(|(_, w)| *w).collect();
    if !held.is_empty() {
        return Err(PrivError::StillPrivileged(held.join(", ")));
    }
    Ok(Dropped {
        uid: user.uid,
        gid: user.gid,
    })
}
