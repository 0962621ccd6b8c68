//! A repository's release feed (`{owner}/{repo}/releases.atom`, as github.com serves it and
//! `hookstrap mirror` writes it): which tags were published when, so that `latest` can skip
//! releases younger than `min_release_age` without the rate-limited REST API. The feed is
//! untrusted: entries whose tag is not one plain name, or whose time does not parse, are
//! ignored, and a release without a time is never old enough.

use std::time::{Duration, SystemTime};

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::names;

/// One release in a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub tag: String,
    pub at: Option<SystemTime>,
}

/// The releases a feed lists, in its order. Malformed XML yields what was read before it.
pub fn parse(xml: &str) -> Vec<Published> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut entry: Option<(Option<String>, Option<String>, Option<String>)> = None;
    let mut field = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
                if name == "entry" {
                    entry = Some((None, None, None));
                } else if name == "link"
                    && let Some(entry) = entry.as_mut()
                {
                    entry.2 = href(&e).or(entry.2.take());
                }
                field = name;
            }
            Ok(Event::Empty(e)) => {
                if e.local_name().as_ref() == b"link"
                    && let Some(entry) = entry.as_mut()
                {
                    entry.2 = href(&e).or(entry.2.take());
                }
            }
            Ok(Event::Text(t)) => {
                if let Some(entry) = entry.as_mut() {
                    let text = String::from_utf8_lossy(t.as_ref()).trim().to_string();
                    match field.as_str() {
                        "updated" => entry.0 = Some(text),
                        "title" => entry.1 = Some(text),
                        _ => {}
                    }
                }
            }
            Ok(Event::End(e)) => {
                if e.local_name().as_ref() == b"entry"
                    && let Some((updated, title, link)) = entry.take()
                {
                    out.extend(release(updated, title, link));
                }
                field.clear();
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

fn href(e: &quick_xml::events::BytesStart) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == b"href")
        .map(|a| String::from_utf8_lossy(&a.value).to_string())
}

/// An entry's tag (from its link `…/releases/tag/TAG`, else its title) and time.
fn release(
    updated: Option<String>,
    title: Option<String>,
    link: Option<String>,
) -> Option<Published> {
    let from_link = link.and_then(|l| l.rsplit_once("/releases/tag/").map(|(_, t)| t.to_string()));
    let tag = from_link.or(title)?;
    names::check(&tag).ok()?;
    let at = updated.and_then(|u| parse_time(&u));
    Some(Published { tag, at })
}

/// An RFC 3339 time, `Z` or with a `±HH:MM` offset (feeds use both).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    if let Ok(at) = humantime::parse_rfc3339_weak(text) {
        return Some(at);
    }
    let split = text.len().checked_sub(6)?;
    let (base, offset) = (text.get(..split)?, text.get(split..)?);
    let sign = offset.chars().next()?;
    let (hours, minutes) = offset.get(1..)?.split_once(':')?;
    let seconds = hours.parse::<u64>().ok()? * 3600 + minutes.parse::<u64>().ok()? * 60;
    let utc = humantime::parse_rfc3339_weak(&format!("{base}Z")).ok()?;
    match sign {
        '+' => utc.checked_sub(Duration::from_secs(seconds)),
        '-' => utc.checked_add(Duration::from_secs(seconds)),
        _ => None,
    }
}

/// Whether a release published `at` is at least `age` old at `now`.
pub fn old_enough(at: Option<SystemTime>, age: Duration, now: SystemTime) -> bool {
    at.is_some_and(|at| now.duration_since(at).is_ok_and(|d| d >= age))
}

/// A feed listing `releases` of `owner/repo` (what `hookstrap mirror` writes).
pub fn write(owner: &str, repo: &str, releases: &[Published]) -> String {
    let escape = |t: &str| quick_xml::escape::escape(t).to_string();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    out.push_str(&format!(
        "  <id>tag:github.com,2008:https://github.com/{0}/{1}/releases</id>\n  <title>Release notes from {1}</title>\n",
        escape(owner),
        escape(repo)
    ));
    for release in releases {
        out.push_str("  <entry>\n");
        out.push_str(&format!("    <title>{}</title>\n", escape(&release.tag)));
        if let Some(at) = release.at {
            out.push_str(&format!(
                "    <updated>{}</updated>\n",
                humantime::format_rfc3339_seconds(at)
            ));
        }
        out.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"https://github.com/{}/{}/releases/tag/{}\"/>\n",
            escape(owner),
            escape(repo),
            escape(&release.tag)
        ));
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GITHUB: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" xml:lang="en-US">
  <id>tag:github.com,2008:https://github.com/upsun/cli/releases</id>
  <link type="text/html" rel="alternate" href="https://github.com/upsun/cli/releases"/>
  <title>Release notes from cli</title>
  <updated>2026-11-27T10:00:00Z</updated>
  <entry>
    <id>tag:github.com,2008:Repository/1/v5.10.9</id>
    <updated>2026-11-27T10:00:00Z</updated>
    <link rel="alternate" type="text/html" href="https://github.com/upsun/cli/releases/tag/v5.10.9"/>
    <title>v5.10.9</title>
    <content type="html">&lt;p&gt;notes&lt;/p&gt;</content>
  </entry>
  <entry>
    <id>tag:github.com,2008:Repository/1/v5.10.8</id>
    <updated>2026-11-01T09:30:00+01:00</updated>
    <link rel="alternate" type="text/html" href="https://github.com/upsun/cli/releases/tag/v5.10.8"/>
    <title>Release 5.10.8</title>
  </entry>
  <entry>
    <updated>2026-10-01T00:00:00Z</updated>
    <link rel="alternate" href="https://github.com/upsun/cli/releases/tag/..%2F..%2Fx/y"/>
  </entry>
</feed>"#;

    #[test]
    fn githubs_feed_gives_tags_and_times() {
        let releases = parse(GITHUB);
        let tags: Vec<&str> = releases.iter().map(|r| r.tag.as_str()).collect();
        assert_eq!(tags, ["v5.10.9", "v5.10.8"], "the hostile entry is dropped");
        let nov27 = humantime::parse_rfc3339("2026-11-27T10:00:00Z").unwrap();
        assert_eq!(releases[0].at, Some(nov27));
        let now = humantime::parse_rfc3339("2026-11-29T10:00:00Z").unwrap();
        let three_days = Duration::from_secs(3 * 86_400);
        assert!(!old_enough(releases[0].at, three_days, now));
        assert!(old_enough(releases[1].at, three_days, now));
        assert!(!old_enough(None, three_days, now));
        assert_eq!(
            releases[1].at,
            Some(humantime::parse_rfc3339("2026-11-01T08:30:00Z").unwrap())
        );
    }

    #[test]
    fn what_is_written_reads_back() {
        let at = humantime::parse_rfc3339("2026-11-01T08:30:00Z").unwrap();
        let releases = vec![
            Published {
                tag: "v5.10.8".into(),
                at: Some(at),
            },
            Published {
                tag: "jq-1.7.1".into(),
                at: None,
            },
        ];
        assert_eq!(parse(&write("o", "r", &releases)), releases);
    }
}
