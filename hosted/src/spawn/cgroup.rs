//! Load-time helpers for `run-in-cgroup`: finding the daemon's own cgroup and turning the
//! setting into the directory whose `cgroup.procs` the child writes its pid to.

use std::io;

/// Where the cgroup hierarchy is mounted (dinit-service(5): a leading `/` in `run-in-cgroup`
/// is relative to this).
pub const CGROUP_ROOT: &[u8] = b"/sys/fs/cgroup";

/// The daemon's own cgroup, relative to the hierarchy's root (e.g. `/system/dinit`), from
/// the text of `/proc/self/cgroup`: the cgroup v2 entry (`0::PATH`) if there is one, else the
/// only entry of a single v1 hierarchy. `None` when neither exists (several v1 hierarchies and
/// no v2), where relative `run-in-cgroup` paths cannot be used.
pub fn own_cgroup_from(proc_self_cgroup: &[u8]) -> Option<Vec<u8>> {
    let mut lines = proc_self_cgroup
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty());
    let path_of = |line: &[u8]| -> Option<Vec<u8>> {
        let mut fields = line.splitn(3, |&b| b == b':');
        let _id = fields.next()?;
        let _controllers = fields.next()?;
        fields.next().map(<[u8]>::to_vec)
    };
    if let Some(v2) = proc_self_cgroup
        .split(|&b| b == b'\n')
        .find(|l| l.starts_with(b"0::"))
    {
        return path_of(v2);
    }
    let first = lines.next()?;
    if lines.next().is_some() {
        return None;
    }
    path_of(first)
}

/// Reads the daemon's own cgroup from `/proc/self/cgroup` (see [`own_cgroup_from`]).
pub fn own_cgroup() -> io::Result<Option<Vec<u8>>> {
    Ok(own_cgroup_from(&std::fs::read("/proc/self/cgroup")?))
}

/// The directory for a `run-in-cgroup` setting: with a leading `/`, under [`CGROUP_ROOT`];
/// otherwise relative to the daemon's own cgroup `own` (`None` if that is unknown).
pub fn resolve_cgroup_path(setting: &[u8], own: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut path = CGROUP_ROOT.to_vec();
    if setting.first() == Some(&b'/') {
        path.extend_from_slice(setting);
    } else {
        let own = own?;
        if own.first() != Some(&b'/') {
            path.push(b'/');
        }
        path.extend_from_slice(own);
        if path.last() != Some(&b'/') {
            path.push(b'/');
        }
        path.extend_from_slice(setting);
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cgroup_parsing() {
        let hybrid = b"9:name=systemd:/\n4:memory:/x\n0::/init.scope\n";
        assert_eq!(own_cgroup_from(hybrid), Some(b"/init.scope".to_vec()));
        assert_eq!(own_cgroup_from(b"0::/\n"), Some(b"/".to_vec()));
        assert_eq!(own_cgroup_from(b"3:cpu:/a\n"), Some(b"/a".to_vec()));
        assert_eq!(own_cgroup_from(b"3:cpu:/a\n4:memory:/b\n"), None);
        assert_eq!(own_cgroup_from(b""), None);
    }

    #[test]
    fn resolution() {
        assert_eq!(
            resolve_cgroup_path(b"/services/db", None),
            Some(b"/sys/fs/cgroup/services/db".to_vec())
        );
        assert_eq!(
            resolve_cgroup_path(b"../db", Some(b"/dinit")),
            Some(b"/sys/fs/cgroup/dinit/../db".to_vec())
        );
        assert_eq!(
            resolve_cgroup_path(b"db", Some(b"/")),
            Some(b"/sys/fs/cgroup/db".to_vec())
        );
        assert_eq!(resolve_cgroup_path(b"db", None), None);
    }
}
