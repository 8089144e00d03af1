//! Workato's slugs: the file-name form of an asset name, and a connector's provider prefix.

use unicode_normalization::char::is_combining_mark;

fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric() || is_combining_mark(c)
}

/// Replaces each run of non-word characters of the lowercased `name` with one `_`.
fn underscore_runs(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        if is_word(c) {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out
}

/// Returns the slug of an asset name: lowercased, each run of non-word characters replaced by
/// one `_`, leading and trailing `_` dropped, non-ASCII letters kept.
///
/// `"半角文字を全角文字に変換(half-width character -> full-width character)"` becomes
/// `"半角文字を全角文字に変換_half_width_character_full_width_character"`.
pub fn slug(name: &str) -> String {
    underscore_runs(name).trim_matches('_').to_string()
}

/// The one rule for naming a connector by its title on the command line and in the API: the
/// item whose title is exactly `name`, else the first whose [`slug`] is `name` or whose title is
/// `name` in another ASCII case.
pub(crate) fn find_by_title<'a, 's, T: 'a, I>(
    items: I,
    title: impl Fn(&'a T) -> &'s str,
    name: &str,
) -> Option<&'a T>
where
    I: IntoIterator<Item = &'a T> + Clone,
{
    items.clone().into_iter().find(|t| title(t) == name).or_else(|| {
        items
            .into_iter()
            .find(|t| slug(title(t)) == name || title(t).eq_ignore_ascii_case(name))
    })
}

/// Returns the prefix Workato puts before `_connector_<id>_<ts>` in a custom connector's provider
/// name: like [`slug`] but only leading `_` are dropped (`"Nabu Casa (Home Assistant Cloud)"`
/// gives `"nabu_casa_home_assistant_cloud_"`).
pub(crate) fn provider_prefix(title: &str) -> String {
    underscore_runs(title).trim_start_matches('_').to_string()
}

/// Splits a custom connector provider name `<prefix>_connector_<env id>_<unix time>` into its
/// prefix, environment id and timestamp; `None` when it is not of that form.
pub fn parse_provider_name(provider: &str) -> Option<(&str, u64, u64)> {
    const MARK: &[u8] = b"_connector_";
    // The last occurrence, as `rfind` finds it, without building a two-way searcher per call
    // (this runs for every binding and step of every recipe: ~1,000 instructions a call).
    let bytes = provider.as_bytes();
    let at = (0..=bytes.len().checked_sub(MARK.len())?)
        .rev()
        .find(|&i| bytes[i..].starts_with(MARK))?;
    let (prefix, rest) = (&provider[..at], &provider[at + MARK.len()..]);
    let (env, ts) = rest.split_once('_')?;
    Some((prefix, env.parse().ok()?, ts.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_split_at_the_last_connector_mark() {
        assert_eq!(
            parse_provider_name("service_44_api_connector_2200000002_1700000044"),
            Some(("service_44_api", 2200000002, 1700000044))
        );
        assert_eq!(
            parse_provider_name("a_connector_b_connector_1_2"),
            Some(("a_connector_b", 1, 2))
        );
        assert_eq!(parse_provider_name("_connector_1_2"), Some(("", 1, 2)));
        assert_eq!(
            parse_provider_name("_connector_connector_1_2"),
            Some(("_connector", 1, 2))
        );
        // The same answers as with `rfind`.
        let reference = |p: &str| -> Option<(String, u64, u64)> {
            let at = p.rfind("_connector_")?;
            let (env, ts) = p[at + "_connector_".len()..].split_once('_')?;
            Some((p[..at].to_string(), env.parse().ok()?, ts.parse().ok()?))
        };
        for p in [
            "x_connector__connector_1_2",
            "_connector_1_2_connector_3_4",
            "ü_connector_9_9",
            "a_connector_1_2x",
        ] {
            let got = parse_provider_name(p).map(|(a, b, c)| (a.to_string(), b, c));
            assert_eq!(got, reference(p), "{p}");
        }
        for bad in [
            "",
            "salesforce",
            "_connector_",
            "x_connector_1",
            "x_connector_a_2",
            "é_connector_1_x",
        ] {
            assert_eq!(parse_provider_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn slugs_match_workato_exports() {
        assert_eq!(
            slug("半角文字を全角文字に変換(half-width character -> full-width character)"),
            "半角文字を全角文字に変換_half_width_character_full_width_character"
        );
        assert_eq!(
            slug("【RF】レシートアップロード・家計簿登録"),
            "rf_レシートアップロード_家計簿登録"
        );
        assert_eq!(
            slug("Recipe Functionを呼び出してくれるChatGPT×Workbot"),
            "recipe_functionを呼び出してくれるchatgpt_workbot"
        );
        assert_eq!(
            slug("My personal Google Sheets connection (yamakawa.atsuya@gmail.com)"),
            "my_personal_google_sheets_connection_yamakawa_atsuya_gmail_com"
        );
        assert_eq!(slug("a999-LoggerSubProcess"), "a999_loggersubprocess");
        assert_eq!(slug("LINE結婚式アカウント"), "line結婚式アカウント");
        assert_eq!(
            slug("CON | Google Calendar Service Account"),
            "con_google_calendar_service_account"
        );
        assert_eq!(slug("  "), "");
    }

    #[test]
    fn provider_prefix_keeps_trailing_underscore() {
        assert_eq!(
            provider_prefix("Nabu Casa (Home Assistant Cloud)"),
            "nabu_casa_home_assistant_cloud_"
        );
        assert_eq!(provider_prefix("LINE"), "line");
        assert_eq!(provider_prefix("法人番号システム"), "法人番号システム");
    }

    #[test]
    fn parses_provider_names() {
        assert_eq!(
            parse_provider_name("nabu_casa_home_assistant_cloud__connector_2100002083_1768260720"),
            Some(("nabu_casa_home_assistant_cloud_", 2100002083, 1768260720))
        );
        assert_eq!(parse_provider_name("salesforce"), None);
        assert_eq!(parse_provider_name("x_connector_abc_1"), None);
    }
}
