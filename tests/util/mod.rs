//! What the test files share, each part in its own module: [`cli`] runs the
//! binary, [`net`] hands out every test's addresses, [`openssl`] starts
//! `openssl s_server` peers and makes their certificates, [`report`] looks
//! results up in a report, [`backoffice`] starts the back office on both
//! databases, [`netns`] builds network namespaces with a real packet filter.

pub mod backoffice;
pub mod cli;
pub mod net;
pub mod netns;
pub mod openssl;
pub mod path;
pub mod report;
