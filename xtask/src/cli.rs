//! A tiny argument reader: `--flag`, `--name VALUE`, `--name=VALUE` and positionals.

use std::str::FromStr;

use anyhow::{Context, bail};

pub struct Args {
    items: Vec<String>,
}

impl Args {
    pub fn new(items: &[String]) -> Args {
        Args {
            items: items.to_vec(),
        }
    }

    /// True for `-h` or `--help`.
    pub fn help(&mut self) -> bool {
        self.flag("--help") | self.flag("-h")
    }

    /// Takes `name` if present.
    pub fn flag(&mut self, name: &str) -> bool {
        let before = self.items.len();
        self.items.retain(|item| item != name);
        self.items.len() != before
    }

    /// Takes `name VALUE` or `name=VALUE`, parsed.
    pub fn value<T: FromStr>(&mut self, name: &str) -> anyhow::Result<Option<T>>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        let prefix = format!("{name}=");
        let Some(index) = self
            .items
            .iter()
            .position(|item| item == name || item.starts_with(&prefix))
        else {
            return Ok(None);
        };
        let item = self.items.remove(index);
        let text = match item.strip_prefix(&prefix) {
            Some(text) => text.to_string(),
            None if index < self.items.len() => self.items.remove(index),
            None => bail!("`{name}` needs a value"),
        };
        let value = text
            .parse()
            .with_context(|| format!("bad value `{text}` for `{name}`"))?;
        Ok(Some(value))
    }

    /// Takes the first argument that is not an option.
    pub fn positional(&mut self) -> Option<String> {
        let index = self.items.iter().position(|item| !item.starts_with('-'))?;
        Some(self.items.remove(index))
    }

    /// Fails on anything left over.
    pub fn finish(self) -> anyhow::Result<()> {
        match self.items.first() {
            Some(item) => bail!("unexpected argument `{item}` (see --help)"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Args;

    fn args(items: &[&str]) -> Args {
        Args::new(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn reads_options_in_both_forms_and_positionals() {
        let mut a = args(&["04", "--port", "0", "--message=hi there", "--bless"]);
        assert_eq!(a.value::<u16>("--port").unwrap(), Some(0));
        assert_eq!(
            a.value::<String>("--message").unwrap().as_deref(),
            Some("hi there")
        );
        assert!(a.flag("--bless"));
        assert_eq!(a.positional().as_deref(), Some("04"));
        assert!(a.finish().is_ok());
    }

    #[test]
    fn rejects_leftovers_missing_and_bad_values() {
        assert!(args(&["--nope"]).finish().is_err());
        assert!(args(&["--port"]).value::<u16>("--port").is_err());
        assert!(args(&["--port", "x"]).value::<u16>("--port").is_err());
        assert!(args(&["--port=70000"]).value::<u16>("--port").is_err());
    }
}
