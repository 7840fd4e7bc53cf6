use std::fmt::Write as _;

use super::*;

#[test]
fn cardinal_cases() {
    // nemo_tn_cases.jsonl, class cardinal
    assert_eq!(
        cardinal("123").as_deref(),
        Some("one hundred and twenty three")
    );
    assert_eq!(
        cardinal("13000").as_deref(),
        Some("one three zero zero zero")
    );
    assert_eq!(cardinal("-2").as_deref(), Some("minus two"));
    assert_eq!(
        cardinal("123,000,012").as_deref(),
        Some("one hundred twenty three million twelve")
    );
}

/// Runs one class function by name (used by the golden and reference-comparison tests).
pub(super) fn by_class(class: &str, span: &str) -> Option<String> {
    match class {
        "cardinal" => cardinal(span),
        "ordinal" => ordinal(span),
        "decimal" => decimal(span),
        "fraction" => fraction(span),
        "year" => year_words(span),
        "money" => money(span),
        "measure" => measure(span),
        "date" => date(span),
        "time" => time(span),
        "range" => range(span).or_else(|| measure(span)),
        "telephone" => telephone(span),
        "math" => math(span),
        "address" => address(span),
        _ => None,
    }
}

/// Developer aid: `WORDS_CMP_IN=file WORDS_CMP_OUT=file cargo test ... -- --ignored dump`
/// reads `class<TAB>span` lines and writes `class<TAB>span<TAB>output` lines.
#[test]
#[ignore = "developer aid: run by hand with WORDS_CMP_IN and WORDS_CMP_OUT set"]
fn dump_for_comparison() {
    let (Ok(inp), Ok(out)) = (
        std::env::var("WORDS_CMP_IN"),
        std::env::var("WORDS_CMP_OUT"),
    ) else {
        return;
    };
    let text = std::fs::read_to_string(inp).unwrap();
    let mut res = String::new();
    for line in text.split('\n').filter(|l| !l.is_empty()) {
        let (c, s) = line.split_once('\t').unwrap();
        let o = by_class(c, s).unwrap_or_else(|| "<NONE>".into());
        writeln!(res, "{c}\t{s}\t{o}").unwrap();
    }
    std::fs::write(out, res).unwrap();
}

fn golden_cases() -> Vec<(String, String, String)> {
    let path = "/work/shared/goldens/nemo_tn/nemo_tn_cases.jsonl";
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.split('\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
            (s("class"), s("input"), s("actual_fastpitch"))
        })
        .collect()
}

/// Every NeMo unit-test case of our classes whose input is a single span of that class
/// (heuristic: no sentence words around it) is run through the class function and compared
/// with the reference normalizer output in the FastPitch configuration.
#[test]
fn golden_nemo_tn_cases() {
    let cases = golden_cases();
    if cases.is_empty() {
        eprintln!("goldens not available; skipped");
        return;
    }
    let classes = [
        "cardinal",
        "ordinal",
        "decimal",
        "fraction",
        "money",
        "measure",
        "date",
        "time",
        "telephone",
        "electronic",
        "serial",
        "range",
        "math",
        "address",
        "roman",
    ];
    let mut total = 0;
    let mut ok = 0;
    let mut per = std::collections::BTreeMap::<String, (usize, usize)>::new();
    for (class, input, expected) in &cases {
        if !classes.contains(&class.as_str()) {
            continue;
        }
        // single span: the reference output must not repeat an input word around the span
        let words_kept = input
            .split(' ')
            .filter(|w| w.len() > 2 && w.chars().all(|c| c.is_ascii_lowercase()))
            .any(|w| expected.split(' ').any(|e| e == w));
        if words_kept && !matches!(class.as_str(), "electronic" | "math") {
            continue;
        }
        if NOT_SINGLE_SPAN.contains(&input.as_str()) {
            continue;
        }
        let got = by_class(class, input);
        let e = per.entry(class.clone()).or_default();
        e.0 += 1;
        total += 1;
        if got.as_deref() == Some(expected.trim_end()) {
            ok += 1;
            e.1 += 1;
        } else {
            eprintln!("MISS {class}: {input:?} -> {got:?}, want {expected:?}");
        }
    }
    for (c, (n, k)) in &per {
        eprintln!("{c}: {k}/{n}");
    }
    eprintln!("total {ok}/{total}");
    assert!(ok * 100 >= total * FLOOR_PERCENT, "{ok}/{total}");
}

// 213/302 measured (electronic, serial, address and roman not implemented yet).
const FLOOR_PERCENT: usize = 68;

/// Unit-test inputs that NeMo does not read as one span of their class (the reference output
/// shows them split into several tokens, or read by another class).
const NOT_SINGLE_SPAN: [&str; 22] = [
    "1th",
    "2th",
    "3th",
    "4rd",
    "11st",
    "12nd",
    "13rd",
    "21th",
    "111st", // ordinal + word
    "0.1 M",
    "0.1 B",
    "0.1 K", // decimal + word
    "978-0",
    "2-5",
    "from 2-10",
    "170 - 45190",
    "2x8",
    "2+3 m2", // cardinal, dash, cardinal
    "45º&C",
    "$50.00-$100.00",
    "$250-$300",
    "$150.25-$250.67", // several spans
];

fn all_classes(s: &str) {
    let _ = (
        cardinal(s),
        ordinal(s),
        decimal(s),
        fraction(s),
        money(s),
        measure(s),
    );
    let _ = (date(s), time(s), range(s), math(s), telephone(s));
    let _ = (address(s), address_eos(s), money_range(s));
    let _ = (
        number_to_words(s),
        ordinal_words(s),
        year_words(s),
        digits_one_by_one(s),
    );
}

proptest::proptest! {
    #[test]
    fn no_panic_on_arbitrary_unicode(s in "\\PC{0,40}") {
        all_classes(&s);
    }

    #[test]
    fn no_panic_on_number_like(s in "[-+$£€¥.,:/ 0-9a-zA-Z%°()]{0,30}") {
        all_classes(&s);
    }
}

#[test]
fn bounded_on_adversarial_input() {
    let start = std::time::Instant::now();
    let digits = "9".repeat(100_000);
    assert_eq!(cardinal(&digits).map(|s| s.len()), Some(100_000 * 5 - 1));
    assert_eq!(number_to_words(&digits), None);
    all_classes(&digits);
    all_classes(&format!("${digits}.5 kg"));
    all_classes(&",".repeat(100_000));
    all_classes(&".-/".repeat(30_000));
    all_classes(&"1,000".repeat(20_000));
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
}

#[test]
fn class_examples() {
    // expected strings from nemo_tn_cases.jsonl (class given in the comment)
    assert_eq!(
        ordinal("121st").as_deref(),
        Some("one hundred twenty first")
    ); // ordinal
    assert_eq!(ordinal("1th"), None); // ordinal: "one th"
    assert_eq!(
        decimal("0.1 billion").as_deref(),
        Some("zero point one billion")
    ); // decimal
    assert_eq!(fraction("2 1/2").as_deref(), Some("two and a half")); // fraction
    assert_eq!(fraction("3 5/2").as_deref(), Some("three and five halves")); // fraction
    assert_eq!(
        money("$20.50").as_deref(),
        Some("twenty dollars fifty cents")
    ); // money
    assert_eq!(
        money("$.506").as_deref(),
        Some("point five zero six dollars")
    ); // money
    assert_eq!(money("£2.01").as_deref(), Some("two pounds one penny")); // money
    assert_eq!(money("¥30b").as_deref(), Some("thirty billion yen")); // money
    assert_eq!(measure("1 mbps").as_deref(), Some("one megabit per second")); // measure
    assert_eq!(measure("2°C").as_deref(), Some("two degrees Celsius")); // measure
    assert_eq!(
        measure("4 1/2 lbs").as_deref(),
        Some("four and a half pounds")
    ); // measure
    assert_eq!(
        date("2006-08-05").as_deref(),
        Some("august fifth two thousand six")
    ); // date
    assert_eq!(
        date("25th jul 2012").as_deref(),
        Some("the twenty fifth of july twenty twelve")
    ); // date
    assert_eq!(date("340 A.D").as_deref(), Some("three forty AD")); // date
    assert_eq!(
        time("1:59 p.m. e.s.t").as_deref(),
        Some("one fifty nine PM EST")
    ); // time
    assert_eq!(
        time("1:01:01").as_deref(),
        Some("one hour one minute and one second")
    ); // time
    assert_eq!(
        range("1960s-80s").as_deref(),
        Some("nineteen sixties to eighties")
    ); // range
    assert_eq!(math("y=x +1").as_deref(), Some("y equals x plus one")); // math
    assert_eq!(
        money_range("$50.00-$100.00").as_deref(),
        Some("fifty dollars to one hundred dollars")
    ); // money
    assert_eq!(
        telephone("+1 (123)-123-5678").as_deref(),
        Some("plus one, one two three, one two three, five six seven eight")
    ); // telephone
    assert_eq!(year_words("1506").as_deref(), Some("fifteen oh six")); // date "july 1506"
}

#[test]
fn address_cases() {
    // expected strings from the reference normalizer (nemo_text_processing 1.2.0)
    let cases = [
        (
            "2788 San Tomas Expy, Santa Clara, CA 95051",
            "twenty seven eighty eight San Tomas Expressway, Santa Clara, California nine five zero five one",
        ),
        (
            "2 San Tomas hwy, Santa, FL, 95051",
            "two San Tomas Highway, Santa, Florida, nine five zero five one",
        ),
        ("708 N 1st St, San City", "seven zero eight North first Street, San City"),
        ("12 S 1st st", "twelve South first Street"),
        ("1600 Main St", "one thousand six hundred Main Street"),
        ("1,600 Main St", "one thousand six hundred Main Street"),
        ("12345 Main St", "twelve thousand three hundred forty five Main Street"),
        ("1010 Main St.", "ten ten Main Street"),
        ("5 Old Main Road Way", "five Old Main Road Way"),
        ("5 Main St, CA", "five Main Street, CA"),
        ("5 Main St, C.A", "five Main Street, California"),
        ("5 Main St, New York, NY", "five Main Street, New York, New York"),
        ("5 Main St, 95051", "five Main Street, nine five zero five one"),
        ("5 MAIN St", "five MAIN Street"),
        ("5 E. 1st St.", "five East first Street"),
    ];
    for (span, want) in cases {
        assert_eq!(address(span).as_deref(), Some(want), "{span}");
    }
    for span in [
        "0123 Main St",
        "2 main St",
        "5 E St",
        "5 A B St",
        "5 Main Streets",
        "5 Main ST",
        "5 Main Rd",
        "5 Main St,95051",
    ] {
        assert_eq!(address(span), None, "{span}");
    }
    assert_eq!(
        address_eos("1428 Elm St. It").as_deref(),
        Some("fourteen twenty eight Elm Street. It")
    );
    assert_eq!(
        address_eos("5 N Main St. IT-one").as_deref(),
        Some("five North Main Street. IT-one")
    );
    assert_eq!(address_eos("5 Main St. the"), None);
}

#[test]
fn telephone_cases() {
    // expected strings from the reference normalizer (nemo_text_processing 1.2.0)
    let cases = [
        ("1-800-GO-U-HAUL", "one, eight hundred, GO U HAUL"),
        ("1-800-GO-2-HAUL", "one, eight hundred, GO two, HAUL"),
        ("1 (800) FLOWERS.", "one, eight hundred, FLOWERS"),
        (
            "1-800-555-0100",
            "one, eight hundred, five five five, zero one zero zero",
        ),
        (
            "555.867.5309.",
            "five five five, eight six seven, five three zero nine,",
        ),
        (
            "123-123-5678-1111",
            "one two three, one two three, five six seven eight, one one one one",
        ),
        (
            "+16 (028) 527.2887",
            "plus one six, zero two eight, five two seven, two eight eight seven",
        ),
        (
            "1-095-461-1139",
            "one, zero nine five, four six one, one one three nine",
        ),
    ];
    for (span, want) in cases {
        assert_eq!(telephone(span).as_deref(), Some(want), "{span}");
    }
    assert_eq!(
        telephone("ssn is 111-11-1111").as_deref(),
        Some("SSN is one one one, one one, one one one one")
    );
    assert_eq!(telephone("Ssn is 111-11-1111"), None);
    for span in [
        "+44 20 7946 0958",
        "555 867 5309",
        "123-123-567",
        "(123 123-5678",
    ] {
        assert_eq!(telephone(span), None, "{span}");
    }
}

#[test]
fn long_prefix_readings() {
    // The reference after about 21 plain words (NeMo's float sums lose the "and" preference).
    super::set_long_prefix(true);
    let got = [
        cardinal("10,125"),
        cardinal("452"),
        money("$5349.01"),
        money("$184"),
        money("$110"),
        money("$1,590"),
        money("$999"),
        measure("750 ml"),
    ];
    super::set_long_prefix(false);
    let want = [
        "ten thousand one hundred twenty five",
        "four hundred fifty two",
        "five thousand three hundred forty nine dollars one cent",
        "one eighty four dollars",
        "one hundred and ten dollars",
        "one thousand five hundred and ninety dollars",
        "nine hundred ninety nine dollars",
        "seven hundred fifty milliliters",
    ];
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.as_deref(), Some(w));
    }
    assert_eq!(
        money("$184").as_deref(),
        Some("one hundred and eighty four dollars")
    );
    let words = "word ".repeat(22);
    let n = crate::nemo_tn::Normalizer::new();
    assert_eq!(
        n.normalize(&format!("{words}125 end")),
        format!("{words}one hundred twenty five end")
    );
    assert_eq!(
        n.normalize(&format!("{}125 end", "word ".repeat(20))),
        format!("{}one hundred and twenty five end", "word ".repeat(20))
    );
}
