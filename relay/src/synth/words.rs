//! The generator's vocabulary, written for it (no recorded chat): one data file per list in
//! `words/`, one entry per line, in the order the seeded draws index them. Editing a list
//! changes every stream generated from then on (and the shipped demo with it).
//!
//! Emote lists hold `name id` per line (the id goes into IRC `emotes` tags).

use std::sync::LazyLock;

/// A word list: its lines.
pub type Words = LazyLock<Vec<&'static str>>;

/// An emote list: `(name, id)` per line.
pub type Emotes = LazyLock<Vec<(&'static str, &'static str)>>;

fn lines(text: &'static str) -> Vec<&'static str> {
    text.lines().filter(|l| !l.is_empty()).collect()
}

fn emotes(text: &'static str) -> Vec<(&'static str, &'static str)> {
    lines(text)
        .into_iter()
        .map(|l| l.split_once(' ').unwrap_or((l, "")))
        .collect()
}

macro_rules! lists {
    ($($(#[$doc:meta])* $name:ident: $kind:ident = $load:ident($file:literal);)*) => {
        $(
            $(#[$doc])*
            pub static $name: $kind = LazyLock::new(|| $load(include_str!(concat!("words/", $file))));
        )*
    };
}

lists! {
    /// Global Twitch emotes and their ids (these get `emotes` tags in IRC output).
    TWITCH_EMOTES: Emotes = emotes("twitch_emotes.txt");
    /// The channel's own (subscriber) emotes and their ids.
    CHANNEL_EMOTES: Emotes = emotes("channel_emotes.txt");
    /// Emotes seen in calm chat (mostly friendly or bored ones).
    CALM_EMOTES: Words = lines("calm_emotes.txt");
    /// Calm English small talk.
    ENGLISH: Words = lines("english.txt");
    /// Calm Korean small talk.
    KOREAN: Words = lines("korean.txt");
    /// `?` lines.
    QUESTIONS: Words = lines("questions.txt");
    /// A little laughter in calm chat.
    CALM_LAUGH: Words = lines("calm_laugh.txt");
    /// Bot commands.
    COMMANDS: Words = lines("commands.txt");
    /// Hype and shock lines of a burst.
    HYPE: Words = lines("hype.txt");
    /// Laughter lines of a burst.
    LAUGH_LINES: Words = lines("laugh_lines.txt");
    /// `Clip it!` lines.
    CLIP_LINES: Words = lines("clip_lines.txt");
    /// The emote each moment spams, in rotation.
    SPAM_EMOTES: Words = lines("spam_emotes.txt");
    /// The line each moment pastes, in rotation.
    COPYPASTAS: Words = lines("copypastas.txt");
    /// Reactions after a burst.
    AFTERMATH: Words = lines("aftermath.txt");
    /// Name colours.
    COLORS: Words = lines("colors.txt");
    /// Login parts: `adjective_noun`.
    ADJECTIVES: Words = lines("adjectives.txt");
    NOUNS: Words = lines("nouns.txt");
    /// Romanised Korean syllables (logins) and Hangul ones (display names).
    ROMAN_SYLLABLES: Words = lines("roman_syllables.txt");
    HANGUL_SYLLABLES: Words = lines("hangul_syllables.txt");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_has_entries_without_stray_spaces() {
        for list in [
            &CALM_EMOTES,
            &ENGLISH,
            &KOREAN,
            &QUESTIONS,
            &CALM_LAUGH,
            &COMMANDS,
            &HYPE,
            &LAUGH_LINES,
            &CLIP_LINES,
            &SPAM_EMOTES,
            &COPYPASTAS,
            &AFTERMATH,
            &COLORS,
            &ADJECTIVES,
            &NOUNS,
            &ROMAN_SYLLABLES,
            &HANGUL_SYLLABLES,
        ] {
            assert!(!list.is_empty());
            assert!(list.iter().all(|w| *w == w.trim() && !w.contains('\t')));
        }
        for list in [&TWITCH_EMOTES, &CHANNEL_EMOTES] {
            assert!(list.iter().all(|(n, id)| !n.is_empty() && !id.is_empty()));
        }
    }
}
