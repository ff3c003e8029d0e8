//! Unit tests of the filters.

use super::filter::BARE_NAMES;
use super::*;
use serde_json::Value;
use serde_json::json;

fn dec(sep: Option<char>) -> Filter {
    Filter::Decimal(DecimalFilter {
        sep,
        thousands: None,
    })
}

fn amount(input: &str) -> Value {
    apply(&[dec(None)], json!(input)).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

fn date(format: &str, input: &str) -> Result<Value, FilterError> {
    apply(
        &[Filter::Date(DateFilter::Format(format.into()))],
        json!(input),
    )
}

fn date_fr(formats: &[&str], input: &str) -> Result<Value, FilterError> {
    let filter = Filter::Date(DateFilter::Options(DateOptions {
        formats: formats.iter().map(|f| f.to_string()).collect(),
        locale: DateLocale::Fr,
    }));
    apply(&[filter], json!(input))
}

#[test]
fn decimal_with_narrow_nbsp_and_euro() {
    let input = json!("1\u{202F}234,56\u{00A0}€");
    assert_eq!(
        apply(&[dec(Some(','))], input.clone()).unwrap(),
        json!(1234.56)
    );
    assert_eq!(apply(&[dec(None)], input).unwrap(), json!(1234.56));
}

#[test]
fn decimal_signs() {
    assert_eq!(amount("-45,90 €"), json!(-45.9));
    assert_eq!(amount("+1\u{202F}200,00\u{00A0}€"), json!(1200.0));
    assert_eq!(amount("45,90-"), json!(-45.9));
    assert_eq!(amount("(45.90)"), json!(-45.9));
    assert_eq!(amount("(45,90 €)"), json!(-45.9));
    assert_eq!(amount("\u{2212}12,00 €"), json!(-12.0));
    assert_eq!(amount("-€45.90"), json!(-45.9));
    assert_eq!(amount("€-45.90"), json!(-45.9));
    assert_eq!(amount("-0,00 €"), json!(0.0));
}

#[test]
fn decimal_separators_and_currencies() {
    assert_eq!(amount("1,234.56"), json!(1234.56));
    assert_eq!(amount("$1,234.56"), json!(1234.56));
    assert_eq!(amount("12 000,00 €"), json!(12000.0));
    assert_eq!(amount("1.234,56"), json!(1234.56));
    assert_eq!(amount("EUR 42"), json!(42.0));
    assert_eq!(amount("42 eur"), json!(42.0));
    assert_eq!(amount("CHF 1'234.50"), json!(1234.5));
    assert_eq!(amount("US$ 5"), json!(5.0));
    assert_eq!(amount("£3.5"), json!(3.5));
    assert_eq!(amount("1,234,567.89"), json!(1234567.89));
    assert_eq!(amount("1.234.567"), json!(1234567.0));
    assert_eq!(amount("1,234"), json!(1234.0));
    assert_eq!(amount("0,123"), json!(0.123));
    assert_eq!(amount("1234,567"), json!(1234.567));
    assert_eq!(amount("1 234,567"), json!(1234.567));
    assert_eq!(amount("1.5"), json!(1.5));
    assert_eq!(amount(",5"), json!(0.5));
    // Explicit separators.
    assert_eq!(
        apply(&[dec(Some('.'))], json!("1,234")).unwrap(),
        json!(1.234e3)
    );
    assert_eq!(
        apply(&[dec(Some(','))], json!("1,234")).unwrap(),
        json!(1.234)
    );
    let thousands_dot = Filter::Decimal(DecimalFilter {
        sep: None,
        thousands: Some(".".into()),
    });
    assert_eq!(
        apply(&[thousands_dot], json!("1.234")).unwrap(),
        json!(1234.0)
    );
}

#[test]
fn decimal_null_empty_numbers_and_errors() {
    assert_eq!(apply(&[dec(None)], Value::Null).unwrap(), Value::Null);
    assert_eq!(apply(&[dec(None)], json!("  \u{a0}")).unwrap(), Value::Null);
    assert_eq!(apply(&[dec(None)], json!(12.5)).unwrap(), json!(12.5));
    for bad in [
        "abc",
        "12abc",
        "1,2,3",
        "1.234,56.7",
        "--12",
        "12 €  34 $ x",
        "1,,234",
        "(-12)",
        "€",
    ] {
        let err = apply(&[dec(None)], json!(bad)).unwrap_err();
        assert!(
            matches!(err, FilterError::Decimal { .. }),
            "{bad:?} gave {err:?}"
        );
    }
    // Thousands separator after the decimal one.
    assert!(apply(&[dec(Some('.'))], json!("1.234,56")).is_err());
    assert!(matches!(
        apply(&[dec(None)], json!(true)),
        Err(FilterError::Type {
            filter: "decimal",
            ..
        })
    ));
    let err = apply(&[dec(None)], json!("not a number")).unwrap_err();
    assert_eq!(err.to_string(), "cannot read \"not a number\" as an amount");
}

#[test]
fn error_messages_quote_at_most_80_chars_of_input() {
    let long = format!("{}{}", "x".repeat(80), "SECRET".repeat(50));
    for err in [
        apply(&[dec(None)], json!(long)).unwrap_err(),
        apply(&[Filter::Regex(r"\d".into())], json!(long)).unwrap_err(),
        date("%d/%m/%Y", &long).unwrap_err(),
    ] {
        let message = err.to_string();
        assert!(!message.contains("SECRET"), "{message}");
        assert!(message.contains(&"x".repeat(80)), "{message}");
    }
}

#[test]
fn dates() {
    assert_eq!(date("%d/%m/%Y", "23/11/2026").unwrap(), json!("2026-11-23"));
    assert_eq!(
        date("%b %d, %Y", "Nov 5, 2026").unwrap(),
        json!("2026-11-05")
    );
    assert_eq!(
        date("%B %d, %Y", "November 5, 2026").unwrap(),
        json!("2026-11-05")
    );
    assert_eq!(
        date("%b. %d, %Y", "Sept. 5, 2026").unwrap(),
        json!("2026-09-05")
    );
    assert_eq!(
        date_fr(&["%d %B %Y"], "5 novembre 2026").unwrap(),
        json!("2026-11-05")
    );
    assert_eq!(
        date_fr(&["%d %b %Y"], "23 nov. 2026").unwrap(),
        json!("2026-11-23")
    );
    assert_eq!(
        date_fr(&["%d %b. %Y"], "23 nov. 2026").unwrap(),
        json!("2026-11-23")
    );
    assert_eq!(
        date_fr(&["%d %B %Y"], "23 NOVEMBRE 2026").unwrap(),
        json!("2026-11-23")
    );
    assert_eq!(
        date_fr(&["%d %B %Y"], "1er décembre 2026").unwrap(),
        json!("2026-12-01")
    );
    assert_eq!(
        date_fr(&["%d %B %Y"], "15 août 2026").unwrap(),
        json!("2026-08-15")
    );
    assert_eq!(
        date_fr(&["%d %b %Y"], "3 févr. 2027").unwrap(),
        json!("2027-02-03")
    );
    assert_eq!(
        date_fr(&["%A %d %B %Y"], "jeudi 5 novembre 2026").unwrap(),
        json!("2026-11-05")
    );
    assert_eq!(
        date_fr(&["%a %d %b %Y"], "mar. 3 mar. 2026").unwrap(),
        json!("2026-03-03")
    );
    // Several formats, tried in order; English still works with locale fr.
    let formats = ["%d %B %Y", "%b %d, %Y"];
    assert_eq!(
        date_fr(&formats, "Nov 5, 2026").unwrap(),
        json!("2026-11-05")
    );
    assert_eq!(
        date_fr(&formats, "  5\u{a0}novembre \n2026 ").unwrap(),
        json!("2026-11-05")
    );
    // Date-times.
    assert_eq!(
        date("%d/%m/%Y %H:%M", "23/11/2026 14:05").unwrap(),
        json!("2026-11-23T14:05:00")
    );
    assert_eq!(
        date_fr(&["%d %B %Y à %Hh%M"], "23 novembre 2026 à 14h05").unwrap(),
        json!("2026-11-23T14:05:00")
    );
    assert_eq!(
        date("%Y-%m-%d %H:%M:%S%.f %z", "2026-11-23 14:05:00.250 +0100").unwrap(),
        json!("2026-11-23T14:05:00.250+01:00")
    );
    // A month without a day is the 1st.
    assert_eq!(
        date_fr(&["%B %Y"], "novembre 2026").unwrap(),
        json!("2026-11-01")
    );
    // Null and empty.
    assert_eq!(date("%d/%m/%Y", "").unwrap(), Value::Null);
    assert_eq!(
        apply(
            &[Filter::Date(DateFilter::Format("%d/%m/%Y".into()))],
            Value::Null
        )
        .unwrap(),
        Value::Null
    );
    // Errors.
    let err = date("%d/%m/%Y", "32/11/2026").unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read \"32/11/2026\" as a date with format %d/%m/%Y"
    );
    assert!(
        date("%d %B %Y", "5 novembre 2026").is_err(),
        "English locale does not know French"
    );
    assert!(matches!(
        date("%Q", "x"),
        Err(FilterError::Invalid { filter: "date", .. })
    ));
}

#[test]
fn text_filters() {
    let input = json!("  Compte\u{00A0}\u{202F}courant \n ");
    assert_eq!(
        apply(&[Filter::CleanText], input).unwrap(),
        json!("Compte courant")
    );
    assert_eq!(
        apply(&[Filter::CleanText], json!("a\u{2009}b\tc\u{200B}d")).unwrap(),
        json!("a b cd")
    );
    assert_eq!(apply(&[Filter::Lower], json!("ÉTÉ")).unwrap(), json!("été"));
    assert_eq!(apply(&[Filter::Upper], json!("été")).unwrap(), json!("ÉTÉ"));
    assert_eq!(apply(&[Filter::Upper], json!(12)).unwrap(), json!("12"));
    assert!(matches!(
        apply(&[Filter::CleanText], json!(["a"])),
        Err(FilterError::Type {
            filter: "clean_text",
            found: "an array"
        })
    ));
    // Null passes through text filters.
    for f in [
        Filter::CleanText,
        Filter::Lower,
        Filter::Upper,
        Filter::Regex("x".into()),
    ] {
        assert_eq!(f.apply(Value::Null).unwrap(), Value::Null);
    }
}

#[test]
fn regex_filter() {
    let re = |p: &str, s: &str| apply(&[Filter::Regex(p.into())], json!(s));
    assert_eq!(
        re(r"Réf\. (\d+)", "Virement Réf. 12345 du 3/4").unwrap(),
        json!("12345")
    );
    assert_eq!(re(r"\d+", "abc 42 def 7").unwrap(), json!("42"));
    assert_eq!(re(r"(?:a(\d))|(?:b(\d))", "b7").unwrap(), json!("7"));
    let err = re(r"(\d+)", "none here").unwrap_err();
    assert_eq!(
        err,
        FilterError::NoMatch {
            pattern: r"(\d+)".into(),
            input: "none here".into()
        }
    );
    assert!(matches!(
        re("(", "x"),
        Err(FilterError::Invalid {
            filter: "regex",
            ..
        })
    ));
}

#[test]
fn replace_filter() {
    let replace = |p: &str, w: &str| {
        Filter::Replace(ReplaceFilter {
            pattern: p.into(),
            with: w.into(),
        })
    };
    let out = apply(
        &[replace(r"(\d{2})/(\d{2})", "$2-$1")],
        json!("le 23/11 et 01/02"),
    )
    .unwrap();
    assert_eq!(out, json!("le 11-23 et 02-01"));
    let out = apply(
        &[replace(r"\s+CB\s*$", ""), Filter::CleanText],
        json!("CARTE  SUPERMARCHE CB "),
    )
    .unwrap();
    assert_eq!(out, json!("CARTE SUPERMARCHE"));
}

#[test]
fn default_filter() {
    let default = Filter::Default(json!("n/a"));
    assert_eq!(
        apply(std::slice::from_ref(&default), Value::Null).unwrap(),
        json!("n/a")
    );
    assert_eq!(
        apply(std::slice::from_ref(&default), json!("")).unwrap(),
        json!("n/a")
    );
    assert_eq!(
        apply(std::slice::from_ref(&default), json!("x")).unwrap(),
        json!("x")
    );
    // Typical chain: missing element, then decimal, then default.
    let chain = [Filter::CleanText, dec(Some(',')), Filter::Default(json!(0))];
    assert_eq!(apply(&chain, Value::Null).unwrap(), json!(0));
    assert_eq!(apply(&chain, json!("  ")).unwrap(), json!(0));
    assert_eq!(apply(&chain, json!("3,50 €")).unwrap(), json!(3.5));
    assert_eq!(apply(&[], json!("as is")).unwrap(), json!("as is"));
}

#[test]
fn validate() {
    assert!(
        Filter::Regex("(".into())
            .validate()
            .unwrap_err()
            .to_string()
            .contains("regular expression")
    );
    assert!(
        Filter::Replace(ReplaceFilter {
            pattern: "[".into(),
            with: String::new()
        })
        .validate()
        .is_err()
    );
    assert!(Filter::Regex(r"(\d+)".into()).validate().is_ok());
    let bad_format = Filter::Date(DateFilter::Format("%d/%m/%Q".into()));
    assert!(
        bad_format
            .validate()
            .unwrap_err()
            .to_string()
            .contains("%d/%m/%Q")
    );
    assert!(
        Filter::Date(DateFilter::Format("%d/%m/%".into()))
            .validate()
            .is_err()
    );
    assert!(
        Filter::Date(DateFilter::Format("%d/%m/%Y".into()))
            .validate()
            .is_ok()
    );
    let no_formats = Filter::Date(DateFilter::Options(DateOptions {
        formats: vec![],
        locale: DateLocale::Fr,
    }));
    assert!(no_formats.validate().is_err());
    assert!(dec(Some(' ')).validate().is_err());
    assert!(
        Filter::Decimal(DecimalFilter {
            sep: Some(','),
            thousands: Some(",".into())
        })
        .validate()
        .is_err()
    );
    assert!(dec(None).validate().is_ok());
    assert!(Filter::CleanText.validate().is_ok());
    assert_eq!(dec(None).name(), "decimal");
    assert_eq!(
        Filter::Date(DateFilter::Format(String::new())).name(),
        "date"
    );
}

#[test]
fn deserialize_all_forms() {
    let text = r#"["clean_text", "decimal", {"decimal": {"sep": ","}}, {"date": "%d/%m/%Y"},
        {"date": {"formats": ["%d %B %Y"], "locale": "fr"}}, {"regex": "(\\d+)"},
        {"replace": {"pattern": "a", "with": "b"}}, {"default": 0}, "lower", "upper",
        {"decimal": null}, {"decimal": {"thousands": "."}}, {"clean_text": null}]"#;
    let filters: Vec<Filter> = serde_json::from_str(text).unwrap();
    assert_eq!(
        filters,
        vec![
            Filter::CleanText,
            dec(None),
            dec(Some(',')),
            Filter::Date(DateFilter::Format("%d/%m/%Y".into())),
            Filter::Date(DateFilter::Options(DateOptions {
                formats: vec!["%d %B %Y".into()],
                locale: DateLocale::Fr
            })),
            Filter::Regex(r"(\d+)".into()),
            Filter::Replace(ReplaceFilter {
                pattern: "a".into(),
                with: "b".into()
            }),
            Filter::Default(json!(0)),
            Filter::Lower,
            Filter::Upper,
            dec(None),
            Filter::Decimal(DecimalFilter {
                sep: None,
                thousands: Some(".".into())
            }),
            Filter::CleanText,
        ]
    );
    // Serialization round-trips.
    let back: Vec<Filter> =
        serde_json::from_value(serde_json::to_value(&filters).unwrap()).unwrap();
    assert_eq!(back, filters);
}

#[test]
fn deserialize_errors() {
    let err = serde_json::from_str::<Vec<Filter>>(r#"["nope"]"#)
        .unwrap_err()
        .to_string();
    for name in FILTER_NAMES {
        assert!(err.contains(name), "{err}");
    }
    assert!(err.contains("nope"), "{err}");
    let err = serde_json::from_str::<Vec<Filter>>(r#"[{"nope": 1}]"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("clean_text") && err.contains("upper"), "{err}");
    let err = serde_json::from_str::<Vec<Filter>>(r#"[{"decimal": {"bogus": 1}}]"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bogus"), "{err}");
    let err = serde_json::from_str::<Vec<Filter>>(r#"["regex"]"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs an argument"), "{err}");
    let err = serde_json::from_str::<Vec<Filter>>(r#"[{"regex": "a", "lower": null}]"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("exactly one key"), "{err}");
    assert!(serde_json::from_str::<Vec<Filter>>(r#"[{}]"#).is_err());
    assert!(
        serde_json::from_str::<Vec<Filter>>(r#"[{"date": {"formats": ["%d"], "locale": "de"}}]"#)
            .is_err()
    );
    assert!(serde_json::from_str::<Vec<Filter>>(r#"[{"date": {"format": "%d"}}]"#).is_err());
    assert!(serde_json::from_str::<Vec<Filter>>(r#"[{"replace": {"pattern": "a"}}]"#).is_err());
    assert!(serde_json::from_str::<Vec<Filter>>(r#"[{"lower": 1}]"#).is_err());
    assert!(serde_json::from_str::<Vec<Filter>>(r#"[3]"#).is_err());
}

#[test]
fn schema_lists_every_filter() {
    let schema = schemars::schema_for!(Vec<Filter>);
    let value = serde_json::to_value(&schema).unwrap();
    let filter = &value["$defs"]["Filter"];
    let one_of = filter["oneOf"].as_array().expect("Filter schema has oneOf");
    let mut names: Vec<&str> = one_of
        .iter()
        .flat_map(|alt| {
            let bare = alt["const"].as_str();
            let keyed = alt["properties"]
                .as_object()
                .into_iter()
                .flat_map(|p| p.keys().map(String::as_str));
            bare.into_iter().chain(keyed)
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut expected = FILTER_NAMES.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    // Bare names are exactly the unit-like filters.
    let bare: Vec<&str> = one_of
        .iter()
        .filter_map(|alt| alt["const"].as_str())
        .collect();
    assert_eq!(bare, BARE_NAMES);
    // Referenced definitions exist and are strict.
    let defs = value["$defs"].as_object().unwrap();
    for name in [
        "DecimalFilter",
        "ReplaceFilter",
        "DateFilter",
        "DateOptions",
        "DateLocale",
    ] {
        assert!(defs.contains_key(name), "missing $defs/{name}: {value:#}");
    }
    assert_eq!(defs["DecimalFilter"]["additionalProperties"], json!(false));
    assert_eq!(
        defs["DecimalFilter"]["properties"]["sep"]["enum"],
        json!([",", ".", null])
    );
    // Every example of the module docs validates structurally against the oneOf alternatives'
    // keys (smoke check that the schema and the deserializer agree on names).
    for alt in one_of {
        if let Some(props) = alt["properties"].as_object() {
            assert_eq!(alt["required"], json!(props.keys().collect::<Vec<_>>()));
        }
    }
}
