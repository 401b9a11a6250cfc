//! Reading answers from the user. Prompts go to stderr so stdout stays clean for scripts.
//! Passwords and secrets are read from the terminal without echo; when stdin is not a terminal
//! (a pipe in a script or a test) they are read as plain lines from stdin.

use std::io::{self, BufRead, IsTerminal, StdinLock, Write};

use crate::error::CliError;

pub struct Prompter {
    stdin: StdinLock<'static>,
    terminal: bool,
}

impl Prompter {
    pub fn new() -> Self {
        let stdin = io::stdin();
        let terminal = stdin.is_terminal();
        Self {
            stdin: stdin.lock(),
            terminal,
        }
    }

    /// One line, without its line ending; `CliError::Eof` when stdin is closed.
    pub fn line(&mut self, prompt: &str) -> Result<String, CliError> {
        show_prompt(prompt);
        self.read_line()
    }

    /// Asks until the answer is not empty.
    pub fn required(&mut self, prompt: &str) -> Result<String, CliError> {
        loop {
            let answer = self.line(prompt)?;
            let answer = answer.trim();
            if !answer.is_empty() {
                return Ok(answer.to_string());
            }
            crate::output::note(format_args!("a value is required"));
        }
    }

    /// An empty answer means "none".
    pub fn optional(&mut self, prompt: &str) -> Result<Option<String>, CliError> {
        let answer = self.line(prompt)?;
        let answer = answer.trim();
        Ok((!answer.is_empty()).then(|| answer.to_string()))
    }

    /// A secret, never echoed. An empty answer is returned as is (callers decide what it means).
    pub fn secret(&mut self, prompt: &str) -> Result<String, CliError> {
        if self.terminal {
            rpassword::prompt_password(format!("{prompt}: "))
                .map_err(|err| CliError::Terminal(format!("cannot read a password: {err}")))
        } else {
            show_prompt(prompt);
            self.read_line()
        }
    }

    /// A new password: asked twice on a terminal, where a typo cannot be seen.
    pub fn new_password(&mut self) -> Result<String, CliError> {
        loop {
            let first = self.secret("Password")?;
            if first.is_empty() {
                crate::output::note(format_args!("the password must not be empty"));
                continue;
            }
            if !self.terminal {
                return Ok(first);
            }
            if self.secret("Repeat password")? == first {
                return Ok(first);
            }
            crate::output::note(format_args!("the passwords differ, try again"));
        }
    }

    fn read_line(&mut self) -> Result<String, CliError> {
        let mut line = String::new();
        let read = self
            .stdin
            .read_line(&mut line)
            .map_err(|err| CliError::Terminal(format!("cannot read stdin: {err}")))?;
        if read == 0 {
            return Err(CliError::Eof);
        }
        let trimmed = line.trim_end_matches(['\n', '\r']);
        Ok(trimmed.to_string())
    }
}

fn show_prompt(prompt: &str) {
    let mut err = io::stderr().lock();
    let _ = write!(err, "{prompt}: ");
    let _ = err.flush();
}
