//! Tests of the chat-log readers (`clipper_relay::input`) through their public API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use clipper_models::{ChatEvent, ChatMessage, EmoteSpan};
use clipper_relay::input::{detect_format, ChatFormat, ChatReader, ReadStats};
use clipper_relay::RelayError;
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn mem_reader(bytes: &[u8], channel: &str) -> Result<ChatReader<Cursor<Vec<u8>>>, RelayError> {
    ChatReader::new(Cursor::new(bytes.to_vec()), Path::new("mem.log"), channel)
}

/// Reads everything; returns the messages and the final counts.
fn read_all(bytes: &[u8]) -> (Vec<ChatMessage>, ReadStats) {
    let mut reader = mem_reader(bytes, "fallback").unwrap();
    let messages: Vec<_> = reader.by_ref().collect();
    (messages, reader.stats())
}

fn assert_consistent(stats: ReadStats) {
    assert_eq!(
        stats.lines,
        stats.messages + stats.malformed + stats.ignored,
        "{stats:?}"
    );
}

fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    file.flush().unwrap();
    file
}

// ---------------------------------------------------------------------------------------------
// Raw IRC lines, in the style of twitch-irc's own tests (invented users and channels).

const PRIVMSG_EMOTES: &str = "@badge-info=subscriber/22;badges=moderator/1,subscriber/12;color=#19E6E6;display-name=Tester_A;emotes=1902:6-10,29-33,35-39/499:45-46,48-49/490:51-52/25:0-4,12-16,18-22;flags=;id=f9c5774b-faa7-4378-b1af-c4e08b532dc2;mod=1;room-id=11112222;subscriber=1;tmi-sent-ts=1594556065407;turbo=0;user-id=33334444;user-type=mod :tester_a!tester_a@tester_a.tmi.twitch.tv PRIVMSG #somechannel :Kappa Keepo Kappa Kappa test Keepo Keepo 123 :) :) :P";
const PRIVMSG_BITS: &str = "@badge-info=;badges=bits/100;bits=250;color=#004B49;display-name=CheerGuy;emotes=;flags=;id=d7f03a35-f339-41ca-b4d4-7c0721438570;mod=0;room-id=11112222;subscriber=0;tmi-sent-ts=1594571566672;turbo=0;user-id=55556666;user-type= :cheerguy!cheerguy@cheerguy.tmi.twitch.tv PRIVMSG #somechannel :cheer250 hype";
const PRIVMSG_UNICODE: &str = "@badge-info=;badges=broadcaster/1;color=;display-name=Streamer;emotes=425618:48-50;flags=;id=9eb37414-0952-44cc-b177-ad8007088034;mod=0;room-id=11112222;subscriber=0;tmi-sent-ts=1597921035256;turbo=0;user-id=11112222;user-type= :streamer!streamer@streamer.tmi.twitch.tv PRIVMSG #SomeChannel :Я не такой красивый. Не урод, но до тебя далеко LUL";
const PRIVMSG_EMOJI: &str = "@badge-info=;badges=;color=;display-name=EmojiFan;emotes=483:2-3,7-8,12-13;flags=;id=3695cb46-f70a-4d6f-a71b-159d434c45b5;mod=0;room-id=11112222;subscriber=0;tmi-sent-ts=1594557379272;turbo=0;user-id=77778888;user-type= :emojifan!emojifan@emojifan.tmi.twitch.tv PRIVMSG #somechannel :👉 <3 👉 <3 👉 <3";
const PRIVMSG_ACTION: &str = "@badge-info=;badges=vip/1;color=;display-name=Dancer;emotes=;flags=;id=d831d848-b7c7-4559-ae3a-2cb88f4dbfed;mod=0;room-id=11112222;subscriber=0;tmi-sent-ts=1594555275886;turbo=0;user-id=12121212;user-type=;vip=1 :dancer!dancer@dancer.tmi.twitch.tv PRIVMSG #somechannel :\u{1}ACTION dances\u{1}";
const USERNOTICE_SUB: &str = "@badge-info=subscriber/0;badges=subscriber/0,premium/1;color=;display-name=FreshSub;emotes=;flags=;id=2a9bea11-a80a-49a0-a498-1642d457f775;login=freshsub;mod=0;msg-id=sub;msg-param-cumulative-months=1;msg-param-months=0;msg-param-should-share-streak=0;msg-param-sub-plan-name=Channel\\sSubscription\\s(somechannel);msg-param-sub-plan=Prime;room-id=11112222;subscriber=1;system-msg=FreshSub\\ssubscribed\\swith\\sPrime.;tmi-sent-ts=1582685713242;user-id=22223333;user-type= :tmi.twitch.tv USERNOTICE #somechannel";
const USERNOTICE_RESUB: &str = "@badge-info=subscriber/2;badges=subscriber/0,glitchcon2020/1;color=#0000FF;display-name=OldSub;emotes=1035663:0-3;flags=;id=e0975c76-054c-4954-8cb0-91b8867ec1ca;login=oldsub;mod=0;msg-id=resub;msg-param-cumulative-months=14;msg-param-months=0;msg-param-should-share-streak=1;msg-param-streak-months=2;msg-param-sub-plan-name=Channel\\sSubscription\\s(somechannel);msg-param-sub-plan=1000;room-id=11112222;subscriber=1;system-msg=OldSub\\ssubscribed\\sat\\sTier\\s1.;tmi-sent-ts=1581713640019;user-id=23232323;user-type= :tmi.twitch.tv USERNOTICE #somechannel :xqcL still here";
const USERNOTICE_RAID: &str = "@badge-info=;badges=;color=#FF69B4;display-name=RaidingFriend;emotes=;flags=;id=bb99dda7-3736-4583-9114-52aa11b23d17;login=raidingfriend;mod=0;msg-id=raid;msg-param-displayName=RaidingFriend;msg-param-login=raidingfriend;msg-param-profileImageURL=https://example.invalid/70x70.png;msg-param-viewerCount=430;room-id=11112222;subscriber=0;system-msg=430\\sraiders\\sfrom\\sRaidingFriend\\shave\\sjoined!;tmi-sent-ts=1594517796120;user-id=34343434;user-type= :tmi.twitch.tv USERNOTICE #somechannel";
const USERNOTICE_SUBGIFT: &str = "@badge-info=;badges=sub-gifter/50;color=;display-name=Santa;emotes=;flags=;id=e21409b1-d25d-4a1a-b5cf-ef27d8b7030e;login=santa;mod=0;msg-id=subgift;msg-param-gift-months=1;msg-param-months=2;msg-param-origin-id=da\\s39;msg-param-recipient-display-name=Kid;msg-param-recipient-id=45454545;msg-param-recipient-user-name=kid;msg-param-sender-count=0;msg-param-sub-plan-name=Channel\\sSubscription\\s(somechannel);msg-param-sub-plan=1000;room-id=11112222;subscriber=0;system-msg=Santa\\sgifted\\sa\\sTier\\s1\\ssub\\sto\\sKid!;tmi-sent-ts=1594583782376;user-id=56565656;user-type= :tmi.twitch.tv USERNOTICE #somechannel";
const USERNOTICE_ANON_MYSTERY: &str = "@badge-info=;badges=;color=;display-name=AnAnonymousGifter;emotes=;flags=;id=8db97752-3dee-460b-9001-e925d0e2ba5b;login=ananonymousgifter;mod=0;msg-id=submysterygift;msg-param-mass-gift-count=10;msg-param-origin-id=13\\s33;msg-param-sub-plan=1000;room-id=11112222;subscriber=0;system-msg=An\\sanonymous\\suser\\sis\\sgifting\\s10\\sTier\\s1\\sSubs!;tmi-sent-ts=1585447099603;user-id=274598607;user-type= :tmi.twitch.tv USERNOTICE #somechannel";
const USERNOTICE_ANNOUNCEMENT: &str = "@badge-info=;badges=moderator/1;color=#19E6E6;display-name=ModPerson;emotes=25:11-15;flags=;id=9045a344-75b9-44fa-af49-c413bcb39559;login=modperson;mod=1;msg-id=announcement;msg-param-color=PRIMARY;room-id=11112222;subscriber=0;system-msg=;tmi-sent-ts=1594583790000;user-id=67676767;user-type=mod;vip=0 :tmi.twitch.tv USERNOTICE #somechannel :read rules Kappa";
const USERNOTICE_BITSBADGE: &str = "@badge-info=;badges=bits/1000;color=#FF4500;display-name=Whale;emotes=;flags=;id=d2b32a02-3071-4c52-b2ce-bc3716acdc44;login=whale;mod=0;msg-id=bitsbadgetier;msg-param-threshold=1000;room-id=11112222;subscriber=0;system-msg=bits\\sbadge\\stier\\snotification;tmi-sent-ts=1594520403813;user-id=78787878;user-type= :tmi.twitch.tv USERNOTICE #somechannel";
const PING: &str = "PING :tmi.twitch.tv";
const ROOMSTATE: &str = "@emote-only=0;followers-only=-1;r9k=0;rituals=0;room-id=11112222;slow=0;subs-only=0 :tmi.twitch.tv ROOMSTATE #somechannel";
const CLEARCHAT: &str = "@ban-duration=1;room-id=11112222;target-user-id=89898989;tmi-sent-ts=1594553828245 :tmi.twitch.tv CLEARCHAT #somechannel :timed_out_user";
const CLEARMSG: &str = "@login=someone;room-id=;target-msg-id=5b4f63a9-776f-4fce-bf3c-d9707f52e32d;tmi-sent-ts=1594561955611 :tmi.twitch.tv CLEARMSG #somechannel :bad words";
const NUMERIC: &str = ":tmi.twitch.tv 376 justinfan12345 :>";

fn one(line: &str) -> ChatMessage {
    let (mut messages, stats) = read_all(format!("{line}\n").as_bytes());
    assert_eq!(stats.messages, 1, "{line}: {stats:?}");
    messages.remove(0)
}

#[test]
fn privmsg_with_emotes() {
    let m = one(PRIVMSG_EMOTES);
    assert_eq!(m.channel, "somechannel");
    assert_eq!(m.login, "tester_a");
    assert_eq!(m.user_id.as_deref(), Some("33334444"));
    assert!(m.roles.moderator && m.roles.subscriber && m.roles.can_force_clip());
    assert_eq!(m.time_ms, 1_594_556_065_407);
    assert_eq!(m.event, None);
    assert_eq!(
        m.tagged_emote_names(),
        vec!["Kappa", "Keepo", "Kappa", "Kappa", "Keepo", "Keepo", ":)", ":)", ":P"]
    );
    let spans = m.emotes.as_ref().unwrap();
    assert_eq!(
        spans[0],
        EmoteSpan {
            id: "25".into(),
            start: 0,
            end: 5
        }
    );
}

#[test]
fn privmsg_with_bits() {
    let m = one(PRIVMSG_BITS);
    assert_eq!(m.event, Some(ChatEvent::Bits { bits: 250 }));
    assert_eq!(m.text, "cheer250 hype");
    assert_eq!(m.emotes, Some(vec![]));
}

#[test]
fn privmsg_with_unicode_and_emote_after_multibyte_chars() {
    let m = one(PRIVMSG_UNICODE);
    assert_eq!(m.channel, "somechannel", "channel is lower-cased");
    assert!(m.roles.broadcaster && m.roles.can_force_clip());
    assert_eq!(m.tagged_emote_names(), vec!["LUL"]);
    assert_eq!(m.emotes.as_ref().unwrap()[0].start, 48);
    // Twitch sometimes sends indices one past the end: kept as sent, the name lookup skips it.
    let off_by_one = one(&PRIVMSG_UNICODE.replace("425618:48-50", "425618:49-51"));
    assert_eq!(off_by_one.emotes.as_ref().unwrap()[0].end, 52);
    assert!(off_by_one.tagged_emote_names().is_empty());
    let e = one(PRIVMSG_EMOJI);
    assert_eq!(e.tagged_emote_names(), vec!["<3", "<3", "<3"]);
    assert_eq!(e.emotes.unwrap()[1].start, 7);
}

#[test]
fn privmsg_action_and_vip() {
    let m = one(PRIVMSG_ACTION);
    assert_eq!(m.text, "dances");
    assert!(m.roles.vip && !m.roles.can_force_clip());
}

#[test]
fn usernotices_become_events() {
    let sub = one(USERNOTICE_SUB);
    assert_eq!(
        sub.event,
        Some(ChatEvent::Sub {
            months: 1,
            gift: false
        })
    );
    assert_eq!(sub.text, "");
    assert_eq!(sub.login, "freshsub");
    assert!(sub.roles.subscriber);
    assert_eq!(sub.time_ms, 1_582_685_713_242);

    let resub = one(USERNOTICE_RESUB);
    assert_eq!(
        resub.event,
        Some(ChatEvent::Sub {
            months: 14,
            gift: false
        })
    );
    assert_eq!(resub.text, "xqcL still here");
    assert_eq!(resub.tagged_emote_names(), vec!["xqcL"]);

    let raid = one(USERNOTICE_RAID);
    assert_eq!(raid.event, Some(ChatEvent::Raid { viewers: 430 }));
    assert_eq!(raid.login, "raidingfriend");
    assert_eq!(raid.user_id.as_deref(), Some("34343434"));

    let gift = one(USERNOTICE_SUBGIFT);
    assert_eq!(
        gift.event,
        Some(ChatEvent::Sub {
            months: 2,
            gift: true
        })
    );
    assert_eq!(gift.login, "santa");

    let mystery = one(USERNOTICE_ANON_MYSTERY);
    assert_eq!(
        mystery.event,
        Some(ChatEvent::Sub {
            months: 0,
            gift: true
        })
    );

    let announcement = one(USERNOTICE_ANNOUNCEMENT);
    assert_eq!(announcement.event, None);
    assert_eq!(announcement.text, "read rules Kappa");
    assert_eq!(announcement.tagged_emote_names(), vec!["Kappa"]);
}

#[test]
fn non_chat_commands_are_ignored() {
    let text = [
        PING,
        ROOMSTATE,
        CLEARCHAT,
        CLEARMSG,
        NUMERIC,
        USERNOTICE_BITSBADGE,
        ":tmi.twitch.tv RECONNECT",
        ":someone!someone@someone.tmi.twitch.tv PART #somechannel",
    ]
    .join("\n");
    let mut reader = mem_reader(text.as_bytes(), "fallback").unwrap();
    assert_eq!(reader.format(), ChatFormat::Irc);
    assert_eq!(reader.by_ref().count(), 0);
    assert_eq!(
        reader.stats(),
        ReadStats {
            lines: 8,
            messages: 0,
            malformed: 0,
            ignored: 8
        }
    );
}

#[test]
fn malformed_irc_lines_are_skipped() {
    let truncated_tags = &PRIVMSG_EMOTES[..120];
    let truncated_params = PRIVMSG_EMOTES.split(" :Kappa").next().unwrap().to_owned();
    let no_user_id = PRIVMSG_BITS.replace("user-id=55556666;", "");
    let bad_bits = PRIVMSG_BITS.replace("bits=250", "bits=lots");
    let bad_channel = PRIVMSG_BITS.replace("PRIVMSG #somechannel", "PRIVMSG somechannel");
    let reversed_emote = PRIVMSG_EMOJI.replace("483:2-3,7-8,12-13", "483:8-7");
    let mut text = Vec::new();
    for line in [
        PING,
        truncated_tags,
        &truncated_params,
        &no_user_id,
        &bad_bits,
        &bad_channel,
        &reversed_emote,
        "hello, not irc",
        PRIVMSG_BITS,
    ] {
        text.extend_from_slice(line.as_bytes());
        text.push(b'\n');
    }
    text.extend_from_slice(b"@badges=\xff\xfe :a!a@a PRIVMSG #c :x\n");
    text.extend_from_slice(PRIVMSG_EMOJI.as_bytes());
    let (messages, stats) = read_all(&text);
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].event, Some(ChatEvent::Bits { bits: 250 }));
    assert_eq!(messages[1].login, "emojifan");
    assert_eq!(
        stats,
        ReadStats {
            lines: 11,
            messages: 2,
            malformed: 8,
            ignored: 1
        }
    );
}

#[test]
fn receive_time_prefix_fills_missing_server_time() {
    let without_ts = PRIVMSG_BITS.replace("tmi-sent-ts=1594571566672;", "");
    let text = format!(
        "1594571500000\t{PING}\n1594571599999\t{without_ts}\n1594571599999 {PRIVMSG_BITS}\n"
    );
    let (messages, stats) = read_all(text.as_bytes());
    assert_eq!(stats.messages, 2);
    assert_eq!(messages[0].time_ms, 1_594_571_599_999);
    assert_eq!(messages[1].time_ms, 1_594_571_566_672);
}

#[test]
fn irc_sample_fixture() {
    let path = fixture("irc_sample.log");
    let mut reader = ChatReader::open(&path, "unused").unwrap();
    assert_eq!(reader.format(), ChatFormat::Irc);
    let messages: Vec<_> = reader.by_ref().collect();
    assert_eq!(
        reader.stats(),
        ReadStats {
            lines: 16,
            messages: 11,
            malformed: 0,
            ignored: 5
        }
    );
    assert!(messages[..10].iter().all(|m| m.channel == "pixelbard"));
    assert_eq!(messages[10].channel, "otherchan");
    assert!(messages[0].roles.broadcaster);
    assert_eq!(messages[1].tagged_emote_names(), vec!["Kappa", "Kappa"]);
    assert_eq!(messages[2].event, Some(ChatEvent::Bits { bits: 100 }));
    assert_eq!(messages[3].tagged_emote_names(), vec!["LUL"]);
    assert!(messages[3].roles.vip);
    assert_eq!(
        messages[4].event,
        Some(ChatEvent::Sub {
            months: 1,
            gift: false
        })
    );
    assert_eq!(messages[5].text, "Kappa seven months");
    assert_eq!(messages[8].event, Some(ChatEvent::Raid { viewers: 321 }));
    assert_eq!(messages[9].time_ms, 1_700_000_009_500);
    assert!(messages.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
}

// ---------------------------------------------------------------------------------------------
// TSV.

#[test]
fn tsv_file_with_header() {
    let file = write_temp(
        "offset_s\tuser\tmessage\r\n0\tu_a\t안녕하세요\r\n1.5\tu_b\tKEKW\tKEKW\r\n3\tu_c\t\r\n"
            .as_bytes(),
    );
    let mut reader = ChatReader::open(file.path(), "kimdoe").unwrap();
    assert_eq!(reader.format(), ChatFormat::Tsv);
    let messages: Vec<_> = reader.by_ref().collect();
    assert_eq!(
        messages,
        vec![
            ChatMessage::plain("kimdoe", "u_a", "안녕하세요", 0),
            ChatMessage::plain("kimdoe", "u_b", "KEKW\tKEKW", 1500),
            ChatMessage::plain("kimdoe", "u_c", "", 3000),
        ]
    );
    assert_eq!(
        reader.stats(),
        ReadStats {
            lines: 4,
            messages: 3,
            malformed: 0,
            ignored: 1
        }
    );
    assert_eq!(reader.channel(), "kimdoe");
    assert_eq!(reader.path(), file.path());
}

#[test]
fn tsv_without_header_and_out_of_order_times() {
    let (messages, stats) = read_all(b"10\ta\tlate\n5\tb\tearly\n");
    assert_eq!(stats.messages, 2);
    assert_eq!(messages[0].time_ms, 10_000);
    assert_eq!(messages[1].time_ms, 5_000);
    assert_eq!(messages[0].channel, "fallback");
}

#[test]
fn tsv_malformed_lines_are_counted() {
    let mut text = b"offset_s\tuser\tmessage\n".to_vec();
    for line in [
        &b"1\ta\tok one"[..],
        b"soon\ta\tbad offset",
        b"2\tmissing message field",
        b"just text",
        b"3\t\tempty user",
        b"\xff\xfe\xfd\t\x80\tgarbage",
        b"4\ta\t\xe2\x82 truncated utf-8",
        b"",
        b"offset_s\tuser\tmessage",
        b"5\tb\tok two",
    ] {
        text.extend_from_slice(line);
        text.push(b'\n');
    }
    let (messages, stats) = read_all(&text);
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].text, "ok two");
    assert_eq!(
        stats,
        ReadStats {
            lines: 11,
            messages: 2,
            malformed: 6,
            ignored: 3
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Opening errors.

#[test]
fn missing_file_is_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = ChatReader::open(&dir.path().join("nope.tsv"), "c").unwrap_err();
    assert!(matches!(err, RelayError::Open { .. }), "{err}");
}

#[test]
fn empty_files() {
    for bytes in [&b""[..], b"\n\n", b"  \r\n\t\n"] {
        let file = write_temp(bytes);
        let err = ChatReader::open(file.path(), "c").unwrap_err();
        assert!(matches!(err, RelayError::EmptyFile { .. }), "{err}");
    }
}

#[test]
fn unknown_format() {
    let file = write_temp(b"\n{\"offset\": 1, \"user\": \"a\"}\n");
    match ChatReader::open(file.path(), "c") {
        Err(RelayError::UnknownFormat { first_line, path }) => {
            assert_eq!(first_line, "{\"offset\": 1, \"user\": \"a\"}");
            assert_eq!(path, file.path());
        }
        other => panic!("{other:?}"),
    }
    let binary = write_temp(b"\x89PNG\r\n\x1a\n\0\0\0");
    assert!(matches!(
        ChatReader::open(binary.path(), "c"),
        Err(RelayError::UnknownFormat { .. })
    ));
}

#[test]
fn detect_format_is_public() {
    assert_eq!(detect_format(PRIVMSG_EMOTES), Some(ChatFormat::Irc));
    assert_eq!(
        detect_format("offset_s\tuser\tmessage"),
        Some(ChatFormat::Tsv)
    );
    assert_eq!(detect_format("nothing"), None);
    assert_eq!(ChatFormat::Irc.to_string(), "irc");
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// Lines that look a bit like IRC, to get past the first checks more often than random text.
fn irc_like_line() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[@:]?[a-z0-9=;#:!./ @-]{0,60}( PRIVMSG| USERNOTICE| PING)?( #[a-z]{0,5})?( :.{0,20})?",
        // A real line cut anywhere (char boundary).
        (0..PRIVMSG_EMOTES.len()).prop_map(|n| PRIVMSG_EMOTES
            .char_indices()
            .take_while(|(i, _)| *i < n)
            .map(|(_, c)| c)
            .collect()),
        // A real line with a tag value replaced by anything.
        (
            prop::sample::select(vec![
                "emotes",
                "color",
                "bits",
                "badges",
                "tmi-sent-ts",
                "user-id",
                "room-id",
                "msg-param-cumulative-months",
                "msg-param-viewerCount",
                "msg-id",
            ]),
            "[^; \r\n]{0,24}",
            prop::sample::select(vec![
                PRIVMSG_EMOTES,
                PRIVMSG_BITS,
                USERNOTICE_RESUB,
                USERNOTICE_RAID,
                USERNOTICE_SUBGIFT,
            ]),
        )
            .prop_map(|(key, value, line)| {
                let start = line.find(&format!("{key}=")).map(|i| i + key.len() + 1);
                match start {
                    Some(start) => {
                        let end = line[start..]
                            .find([';', ' '])
                            .map_or(line.len(), |e| start + e);
                        format!("{}{}{}", &line[..start], value, &line[end..])
                    }
                    None => format!("@{key}={value};{}", &line[1..]),
                }
            }),
    ]
}

fn join_lines(first: &str, lines: &[Vec<u8>]) -> Vec<u8> {
    let mut text = first.as_bytes().to_vec();
    for line in lines {
        text.push(b'\n');
        text.extend_from_slice(line);
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tsv_reader_never_panics_on_strings(lines in prop::collection::vec(any::<String>(), 0..8)) {
        let bytes: Vec<Vec<u8>> = lines.into_iter().map(String::into_bytes).collect();
        let (_, stats) = read_all(&join_lines("offset_s\tuser\tmessage", &bytes));
        assert_consistent(stats);
    }

    #[test]
    fn tsv_reader_never_panics_on_bytes(lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8)) {
        let (_, stats) = read_all(&join_lines("offset_s\tuser\tmessage", &lines));
        assert_consistent(stats);
    }

    #[test]
    fn irc_reader_never_panics_on_strings(lines in prop::collection::vec(irc_like_line(), 0..8)) {
        let bytes: Vec<Vec<u8>> = lines.into_iter().map(String::into_bytes).collect();
        let (messages, stats) = read_all(&join_lines(PING, &bytes));
        assert_consistent(stats);
        prop_assert_eq!(messages.len() as u64, stats.messages);
    }

    #[test]
    fn irc_reader_never_panics_on_bytes(lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8)) {
        let (_, stats) = read_all(&join_lines(PING, &lines));
        assert_consistent(stats);
    }

    #[test]
    fn opening_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(mut reader) = mem_reader(&bytes, "c") {
            let n = reader.by_ref().count() as u64;
            prop_assert_eq!(n, reader.stats().messages);
            assert_consistent(reader.stats());
        }
    }

    #[test]
    fn tsv_round_trip(
        rows in prop::collection::vec(
            (
                prop_oneof![
                    (0i64..1_000_000).prop_map(|s| (s.to_string(), s * 1000)),
                    (0i64..1_000_000_000).prop_map(|ms| (format!("{}.{:03}", ms / 1000, ms % 1000), ms)),
                ],
                "[^\t\r\n]{1,16}",
                "[^\t\r\n]{0,40}",
            ),
            0..40,
        ),
        with_header in any::<bool>(),
    ) {
        let mut text = String::new();
        if with_header {
            text.push_str("offset_s\tuser\tmessage\n");
        }
        for ((offset, _), user, message) in &rows {
            text.push_str(&format!("{offset}\t{user}\t{message}\n"));
        }
        let file = write_temp(text.as_bytes());
        match ChatReader::open(file.path(), "chan") {
            Ok(reader) => {
                let read: Vec<_> = reader.collect();
                let expected: Vec<_> = rows
                    .iter()
                    .map(|((_, ms), user, message)| ChatMessage::plain("chan", user, message, *ms))
                    .collect();
                prop_assert_eq!(read, expected);
            }
            Err(RelayError::EmptyFile { .. }) => prop_assert!(rows.is_empty() && !with_header),
            Err(e) => prop_assert!(false, "{}", e),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Throughput (run on demand, in release mode):
// CLIPPER_TSV_BENCH_DIR=/path/to/tsvs cargo test --release -p clipper-relay --test input -- --ignored --nocapture

#[test]
#[ignore = "measures throughput over a directory of real logs (CLIPPER_TSV_BENCH_DIR)"]
fn tsv_throughput() {
    let Some(dir) = std::env::var_os("CLIPPER_TSV_BENCH_DIR") else {
        eprintln!("CLIPPER_TSV_BENCH_DIR not set; skipping");
        return;
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tsv"))
        .collect();
    paths.sort();
    let mut best = f64::INFINITY;
    let mut lines = 0;
    let mut bytes = 0;
    for _ in 0..5 {
        let start = std::time::Instant::now();
        lines = 0;
        bytes = 0;
        for path in &paths {
            let mut reader = ChatReader::open(path, "bench").unwrap();
            for m in reader.by_ref() {
                bytes += m.text.len();
            }
            lines += reader.stats().lines;
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    #[allow(clippy::cast_precision_loss)]
    let rate = lines as f64 / best;
    eprintln!(
        "{} files, {lines} lines, {bytes} text bytes: best of 5 {:.3} s = {:.2} M lines/s",
        paths.len(),
        best,
        rate / 1e6
    );
}
