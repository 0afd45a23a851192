//! A forked child must never repeat its parent's tokens (nginx forks its
//! workers after loading modules, and every worker issues tokens): every
//! token's bytes come from the kernel, and no state is kept to inherit.
//!
//! One test in this file, so that the process forks with no other test
//! thread running.
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use oauth2_provider::token::{generate_token, generate_tokens};

extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(status: i32) -> !;
}

/// Tokens `draw` makes in a forked child, read back by the parent.
fn in_child(draw: impl Fn() -> Vec<String>) -> Vec<String> {
    let (mut parent_end, mut child_end) = UnixStream::pair().unwrap();
    // SAFETY: the child only draws tokens, writes them to its socket and
    // leaves with `_exit`, running no destructor or test harness code.
    let pid = unsafe { fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let text = draw().join("\n");
        let ok = child_end.write_all(text.as_bytes()).is_ok();
        // SAFETY: ends the child at once, as a forked child should.
        unsafe { _exit(if ok { 0 } else { 1 }) };
    }
    drop(child_end);
    let mut text = String::new();
    parent_end.read_to_string(&mut text).unwrap();
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a valid out-pointer.
    assert_eq!(unsafe { waitpid(pid, &mut status, 0) }, pid);
    assert_eq!(status, 0, "the child failed");
    text.lines().map(str::to_owned).collect()
}

#[test]
fn a_forked_child_never_repeats_its_parents_tokens() {
    // Draw before forking, so that a generator keeping state (as the
    // userspace one this replaced did) would have some to hand down.
    let before = generate_token().unwrap();

    let child = in_child(|| {
        let mut tokens = vec![generate_token().unwrap()];
        tokens.extend(generate_tokens::<2>().unwrap());
        tokens
    });
    let mut parent = vec![generate_token().unwrap()];
    parent.extend(generate_tokens::<2>().unwrap());

    assert_eq!(child.len(), 3);
    for token in &child {
        assert_eq!(token.len(), 43);
        assert!(!parent.contains(token), "the child repeated a parent token");
        assert_ne!(token, &before);
    }

    // Two children of the same parent differ from each other too.
    let first = in_child(|| vec![generate_token().unwrap()]);
    let second = in_child(|| vec![generate_token().unwrap()]);
    assert_ne!(first, second, "two children drew the same token");
}
