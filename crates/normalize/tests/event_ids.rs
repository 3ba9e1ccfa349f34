//! Golden event ids. An id is the table's key: SHA-256 of the provider and
//! the canonical JSON of the event, numbers included. If the text written
//! for a number ever changed, every redelivery of such an event would be
//! stored a second time under a new id, so these ids must never change.
//! Equal numbers have one text however they are spelled (`1`, `1.0`, `1e0`;
//! `-0` and `0`), so bodies that differ only in such spellings share an id.

mod common;

use common::received_at;
use normalize::{normalize, Provider};

/// The id of a SuperSend body `{"event":"open","n":<number>}` (one event
/// object per POST, the whole body the event), for number texts of every
/// form JSON allows: exponents of both cases and signs, negative zero,
/// integers past i64 and u64 both ways, floats with more digits than an
/// f64 holds, subnormals, the extremes.
const ONE_NUMBER: &[(&str, &str)] = &[
    (
        "0",
        "fd1cdd10318adc568eaac10d403607235381537ccf9c1efd2a7b21aa6190dfd2",
    ),
    (
        "-0",
        "fd1cdd10318adc568eaac10d403607235381537ccf9c1efd2a7b21aa6190dfd2",
    ),
    (
        "0.0",
        "fd1cdd10318adc568eaac10d403607235381537ccf9c1efd2a7b21aa6190dfd2",
    ),
    (
        "-0.0",
        "fd1cdd10318adc568eaac10d403607235381537ccf9c1efd2a7b21aa6190dfd2",
    ),
    (
        "1",
        "0a65edead760397880b06fedf874643344b110052737a8897f5dd148888d9c8a",
    ),
    (
        "-1",
        "c0376067159909150d1380a2fc285d9453746567ade09882d61eca72550e8b68",
    ),
    (
        "1.0",
        "0a65edead760397880b06fedf874643344b110052737a8897f5dd148888d9c8a",
    ),
    (
        "100.0",
        "d8b6bc40f3669311597dda63c89f0f2c6e83af70d85a6664eb0ba306f244cc93",
    ),
    (
        "-100.0",
        "a2d6ee0307bdf6e86bd3e129b22e21f65e785c8af86e0fbe2d7be50ccd45d3fc",
    ),
    (
        "0.1",
        "826b9b20c9b697c73ca804009116d27fe70d0a82a3958671a34fc647c349291d",
    ),
    (
        "-0.1",
        "3f9152dcca80b318be64acbdc74e98f5119bdf142661cf9f72dd008e39bc362c",
    ),
    (
        "1e5",
        "5770c217d6b610e46786eb8d8fbd5313e6e1ea9241949dd199f4ff8c59b0e3c7",
    ),
    (
        "1E5",
        "5770c217d6b610e46786eb8d8fbd5313e6e1ea9241949dd199f4ff8c59b0e3c7",
    ),
    (
        "1e+5",
        "5770c217d6b610e46786eb8d8fbd5313e6e1ea9241949dd199f4ff8c59b0e3c7",
    ),
    (
        "1.5E-7",
        "0b34fcb927d7348c2519821e71c0c64faa57cdef4275de88287f1f259983c36d",
    ),
    (
        "2.5e+300",
        "7c43dd0e34bf4e225096e0af556c22e6c11a198be0de0c7b808dedc638d48244",
    ),
    (
        "-2.5E300",
        "e12251296528e4c697f8c35d4f5b6e7b1c35e699d10e1690302f8c6bebb108e8",
    ),
    (
        "1e-5",
        "fb28576ce668cf133855eb2e0df835c4ec48efbe191f0f497b6a354b0514e9e1",
    ),
    (
        "1e-7",
        "924042ea4ef7dc2cd8d863ac36c705c18605f93a3cfa4a89e1d5a45506b12254",
    ),
    (
        "0.0001",
        "fa736d3d316491a731b6693a75aed72574013efbe0f89e8dfc25a10c33662533",
    ),
    (
        "0.00001234",
        "545ad44575a7fbb20d769b468fd90090448aa8351cd6e648fed1570eaf73de35",
    ),
    (
        "1e15",
        "c481f02e07dc62ef18c6758119014816522ba4bd5fbddef943505bfa96e83a81",
    ),
    (
        "1e16",
        "3687addac899be09fc2cf57987c82276cfb20890b7307d17e9d8ab7f61e41ae2",
    ),
    (
        "1e17",
        "d77bd16b6e626f9a09d13b061f8669a756f018a99d8f14a3378f56811123ab0d",
    ),
    (
        "1e21",
        "4c4ebefc3d739ee41171acb3e19955a03d8a727b5a0b16a407fae820abecaab7",
    ),
    (
        "1e22",
        "8e1480c0aee44e5727886fab2db8ca323a27dd15453ee9d54084796b6566a4d6",
    ),
    (
        "1e23",
        "2c1d595f68d4fa3b7220669e9758306b2dbd3a3ffccb1f8039a9aff29678b112",
    ),
    (
        "123456789.123456789",
        "a90e2f81abbba5301b91be699faca19daf44daa806646c8ad8b2a66c04bcf3ef",
    ),
    (
        "0.30000000000000004",
        "4117b030f8f3afb4e8af49c6a4c8fac49ac743363ae237da1a42905349c534f6",
    ),
    (
        "5e-324",
        "b2dcf4d0b0ef7d162b705633a324b02e463fbb20ddec46ef14e72ecbc2eff681",
    ),
    (
        "2.2250738585072014e-308",
        "9c7fd9b58e381a0584ea5fd2ed7087d9502b38947b6954ebf0f109ad1326997a",
    ),
    (
        "1.7e-310",
        "386a835f86041ea182e3d104b2992ce53b368d34d7c1a617701ccd378d735f6d",
    ),
    (
        "1.7976931348623157e308",
        "b8971e23447d9339ccc48a0d2085a30f6aaf67439e517553a80160344176220b",
    ),
    (
        "4.35",
        "7c9698dbb0996f5ebb1065e13d149de83c0eeddb69950cff600184f75d2abcc2",
    ),
    (
        "9007199254740993",
        "defcec4334bbf5ba7529f31ce6bbe6ccc43644b642c3461a59671dd44c593720",
    ),
    (
        "-42",
        "d539b84b95cce90472a25a417c0b01293d12c5b1f0d385507d4f8d803ca0a833",
    ),
    (
        "9223372036854775807",
        "ee0dab50aa7e7a69d97abc931023f9e1bcc8067578cce00f8cb469f53f8f9490",
    ),
    (
        "-9223372036854775808",
        "93646a9f50f8ae19817a16076524b11f4e480993ebc1880705e443e9eeca7d34",
    ),
    (
        "-9223372036854775809",
        "93646a9f50f8ae19817a16076524b11f4e480993ebc1880705e443e9eeca7d34",
    ),
    (
        "18446744073709551615",
        "7bdc3e2833e91aa5256125d0fb8c39b73dbdf351013b3925a0c86007bd0bceaf",
    ),
    (
        "18446744073709551616",
        "56de125128dc26490667a0e10f9056b4c4b062291ccee9395b06d02b5ffa5b66",
    ),
    (
        "-18446744073709551616",
        "7ed1650843c5df9813dbd1cd94cd80f6624d3d527c3fb75702dd780573310b42",
    ),
    (
        "-18446744073709551617",
        "7ed1650843c5df9813dbd1cd94cd80f6624d3d527c3fb75702dd780573310b42",
    ),
    (
        "123456789012345678901234567890",
        "f2033604ec9561e6425dc441ba0be623efe68581d7522397b6eabd64e105c991",
    ),
    (
        "-123456789012345678901234567890",
        "c03bd5882cc92bc4890c9d3cb3589bd873260c31e12836e22bec29525bd064d9",
    ),
    (
        "1.0e0",
        "0a65edead760397880b06fedf874643344b110052737a8897f5dd148888d9c8a",
    ),
    (
        "10e-1",
        "0a65edead760397880b06fedf874643344b110052737a8897f5dd148888d9c8a",
    ),
    (
        "0e10",
        "fd1cdd10318adc568eaac10d403607235381537ccf9c1efd2a7b21aa6190dfd2",
    ),
    (
        "-0e-10",
        "fd1cdd10318adc568eaac10d403607235381537ccf9c1efd2a7b21aa6190dfd2",
    ),
    (
        "1.23456789e-100",
        "1eae46119333f6ee57ba4bc3a7d535bc9c97775da6e041512f1866b77139e1b1",
    ),
    (
        "3.14159265358979323846264338327950288",
        "88700d88c229dbbac21ea7ca2e966a7c6b66bc5c8c786245784521e72a3f9251",
    ),
    (
        "100000000000000000000000000000000000000000000000000",
        "0a436b69078cfebbab45c4dff445763de091bc563461bf50a51db245e28bcc6d",
    ),
    // Exactly halfway between two shortest texts: the even one is written
    // (…624.2, …624.8, …664.12, …664.38).
    (
        "1125899906842624.25",
        "633474c51cd6f19855297403d62316f241e6bba3cbf1e28aa2db46b8b9a9329d",
    ),
    (
        "1125899906842624.75",
        "83016a37d43f16eedba2416926ad562f06367c3d2090ce8202e68caaf429155d",
    ),
    (
        "70368744177664.125",
        "0b88fa16e4142f649da39089e70d2984745aac15a6a1ba2813b2b18be98bf872",
    ),
    (
        "70368744177664.375",
        "eb2e64982514874aa3aa75c3258975254e9699636f2aa7c29efa6400b45eeab6",
    ),
    // 2^-24: a power of two, whose lower neighbour is nearer than its upper.
    (
        "5.9604644775390625e-8",
        "390e73fea042f81a5a6c577f97123602373fdc19456bfc50b5d94898b9653f13",
    ),
    (
        "9007199254740992.0",
        "b24b9f74566dc70cecdf68dad52f22dcf6a345707a26551b37e23765df65e58b",
    ),
    (
        "9223372036854775808.0",
        "54874621b30af76009225035711c5381d7605c240ae53f92fbf181d61eadb6cc",
    ),
    (
        "0.5",
        "a1169b6d3acc5debafe5fb9827bc20bace4ecdbebf0248ffdeede9a2e0231c6c",
    ),
    (
        "1e-6",
        "a5d51169aa850670d5759ba16773d09b474e70e5a7af269791f1658d2903d8a7",
    ),
    (
        "123e-20",
        "8ceb77b0d9d621a6c46e04be2da1fd6d1ea47c1d0b25096f57403c1ae9d71241",
    ),
    (
        "1e100",
        "19d280a70f9bd3dbdef2bb4692a74f3bab4f09125a8ead40c71895bc7f819d9e",
    ),
];

/// Numbers inside nested arrays and objects, in bodies of three envelopes.
const NESTED: &[(Provider, &str, &[&str])] = &[
    (
        Provider::Supersend,
        r#"{"event":"open","a":[1e5,[-0,{"x":2.5e+300,"y":[0.1,-1,1.0]}],100.0],"o":{"k":{"z":-18446744073709551617,"w":1.5E-7},"big":18446744073709551616}}"#,
        &["d3d96ccbf95f142c4b1bf2bddd45641cc015383aacba3657357f45c8386d6225"],
    ),
    (
        Provider::Sendpulse,
        r#"[{"event":"open","email":"a@example.com","timestamp":1717000000,"n":[-0.0,1e5]},{"event":"click","timestamp":1.7e9,"v":{"p":4.35,"q":-9223372036854775809}}]"#,
        &[
            "fbe789cf2fbd43736a18f1654e8d195c6b557af9e1bb617fbf6c8856fa859da2",
            "d0a8e4914cae3d77a353b9580e2388f95d8833123a6a51b6b7548dd0da542cbd",
        ],
    ),
    (
        Provider::Egoi,
        r#"{"events":[{"action":"email_open","action_date":1717000000,"contact":{"base":[{"uid":"u1"}]},"x":[1e21,0.00001234,-123456789012345678901234567890]}]}"#,
        &["92fc6063864ae4deed1dce5f98036af4a8a72182a81e668fb7ec38a788a879c1"],
    ),
];

fn ids(provider: Provider, body: &str) -> Vec<String> {
    normalize(provider, body.as_bytes(), received_at())
        .unwrap_or_else(|e| panic!("{body}: {e}"))
        .into_iter()
        .map(|e| e.event_id)
        .collect()
}

#[test]
fn ids_of_bodies_with_numbers_of_every_form_never_change() {
    let mut wrong = Vec::new();
    for (number, expected) in ONE_NUMBER {
        let body = format!(r#"{{"event":"open","n":{number}}}"#);
        let got = ids(Provider::Supersend, &body);
        if got != [*expected] {
            wrong.push(format!("{number}: {got:?}, expected {expected}"));
        }
    }
    for (provider, body, expected) in NESTED {
        let got = ids(*provider, body);
        if got != *expected {
            wrong.push(format!("{provider} {body}: {got:?}, expected {expected:?}"));
        }
    }
    assert!(wrong.is_empty(), "event ids changed:\n{}", wrong.join("\n"));
}

#[test]
fn equal_numbers_spelled_differently_give_one_id() {
    let id = |n: &str| {
        ids(
            Provider::Supersend,
            &format!(r#"{{"event":"open","n":{n}}}"#),
        )
    };
    let groups: &[&[&str]] = &[
        &[
            "1", "1.0", "1e0", "10E-1", "1.000", "0.1e1", "1.0e0", "1E+0",
        ],
        &["0", "-0", "0.0", "-0.0", "0e10", "-0e-10", "-0.000"],
        &[
            "100000",
            "1e5",
            "1E5",
            "1e+5",
            "100000.0",
            "100000.00",
            "1000000e-1",
        ],
        &["-42", "-42.0", "-4.2e1", "-420e-1"],
        &["1736846100", "1736846100.0", "1.7368461e9", "17368461e2"],
        &["9007199254740993"],
        &[
            "9007199254740992",
            "9007199254740992.0",
            "9.007199254740992e15",
        ],
        &["18446744073709551615"],
        &[
            "9223372036854775808",
            "9223372036854775808.0",
            "9.223372036854775808e18",
        ],
        &[
            "-9223372036854775808",
            "-9223372036854775808.0",
            "-9.223372036854775808E18",
        ],
        &["0.1", "0.10", "1e-1", "1.0E-1", "0.010e1"],
        &["4.35", "435e-2", "0.435e1"],
        // Beyond 64 bits: the nearest f64, read correctly rounded.
        &[
            "18446744073709551616",
            "1.8446744073709552e19",
            "18446744073709551616.0",
        ],
        &[
            "100000000000000000000000000000000000000000000000000",
            "1e50",
            "1.0E+50",
        ],
    ];
    for same in groups {
        for n in *same {
            assert_eq!(id(n), id(same[0]), "{n} and {}", same[0]);
        }
    }
    // Different values, different ids; an integer past 2^53 stays exact.
    let firsts: Vec<&str> = groups.iter().map(|g| g[0]).collect();
    for (i, a) in firsts.iter().enumerate() {
        for b in &firsts[i + 1..] {
            assert_ne!(id(a), id(b), "{a} and {b}");
        }
    }
    assert_ne!(id("1"), id("\"1\""));
    // The limit of reading numbers as f64: an integer past 2^53 written
    // with a fraction or an exponent is the nearest f64, here 2^53.
    assert_eq!(id("9007199254740993.0"), id("9007199254740992"));
}
