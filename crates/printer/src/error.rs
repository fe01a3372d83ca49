//! A failed command's error as the binary prints it.

use std::error::Error;

/// The error and its causes joined by `: `, each cause once: our library errors name their
/// cause in their own message (`cannot read vocab.txt: No such file or directory`) and also
/// expose it as their source, so printing every source would show the OS error twice.
pub fn chain(err: &(dyn Error + 'static)) -> String {
    let mut text = String::new();
    let mut next = Some(err);
    while let Some(cause) = next {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause_text);
        }
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::error::Error;
    use std::fmt;

    use super::chain;

    /// Names its cause in its message and exposes it as its source, as our errors do.
    #[derive(Debug)]
    struct Read {
        source: std::io::Error,
    }

    impl fmt::Display for Read {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "cannot read vocab.txt: {}", self.source)
        }
    }

    impl Error for Read {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.source)
        }
    }

    /// What was being done, around its cause (as anyhow's context).
    #[derive(Debug)]
    struct Context(Read);

    impl fmt::Display for Context {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("encoding with ckpt")
        }
    }

    impl Error for Context {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_already_in_the_message_is_printed_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let text = chain(&Context(Read { source: io }));
        assert_eq!(text.matches("not found").count(), 1, "{text}");
        assert!(
            text.starts_with("encoding with ckpt: cannot read vocab.txt: "),
            "{text}"
        );
    }
}
