//! Who a fact is about: `email#<email>`, `phone#<phone>`, and, when the
//! event carries neither, `contact#<provider>#<id>`.

use crate::fact::Fact;

pub type Subject = String;

/// The subjects a fact is stored under: its address(es), else its contact id.
pub fn subjects(fact: &Fact) -> Vec<Subject> {
    let mut out = Vec::with_capacity(2);
    if let Some(email) = fact
        .email
        .as_deref()
        .map(email_key)
        .filter(|e| !e.is_empty())
    {
        out.push(format!("email#{email}"));
    }
    if let Some(phone) = fact_phone(fact) {
        out.push(format!("phone#{phone}"));
    }
    if out.is_empty() {
        if let Some(id) = fact.contact_id.as_deref().filter(|id| !id.is_empty()) {
            out.push(contact_subject(&fact.provider, id));
        }
    }
    out
}

/// The contact-id subject that an event carrying both an id and an address
/// links to that address: `contact#<provider>#<id>`.
pub fn contact_subject(provider: &str, id: &str) -> Subject {
    format!("contact#{provider}#{id}")
}

/// The subjects whose state this fact's addresses also take: the contact
/// id, when the fact carries it beside an address.
pub fn links(fact: &Fact) -> Vec<(Subject, Subject)> {
    let Some(id) = fact.contact_id.as_deref().filter(|id| !id.is_empty()) else {
        return Vec::new();
    };
    let contact = contact_subject(&fact.provider, id);
    let mut out = Vec::new();
    if let Some(email) = fact
        .email
        .as_deref()
        .map(email_key)
        .filter(|e| !e.is_empty())
    {
        out.push((format!("email#{email}"), contact.clone()));
    }
    if let Some(phone) = fact_phone(fact) {
        out.push((format!("phone#{phone}"), contact.clone()));
    }
    out
}

fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The fact's phone as a subject: [`phone_key`], after reading E-goi's
/// own international form. E-goi writes every phone as its country code, a
/// dash and the number (`351-912345678`, documented as `999-999999999`),
/// which is `+351912345678`: the same person as another platform's
/// `+351 912 345 678`. Only E-goi's: elsewhere `555-1234` is a national
/// number and stays one.
fn fact_phone(fact: &Fact) -> Option<String> {
    let phone = fact.phone.as_deref()?.trim();
    let egoi_international = fact.provider == "egoi"
        && phone.split_once('-').is_some_and(|(country, number)| {
            (1..=3).contains(&country.len())
                && !number.is_empty()
                && country
                    .chars()
                    .chain(number.chars())
                    .all(|c| c.is_ascii_digit())
        });
    let key = if egoi_international {
        phone_key(&format!("+{phone}"))
    } else {
        phone_key(phone)
    };
    (!key.is_empty()).then_some(key)
}

/// A phone as digits, with the `+` of E.164 kept when it was there (`00`
/// read as `+`); spaces, dashes, dots and brackets dropped. A national
/// number stays as it was sent: its country cannot be guessed.
fn phone_key(phone: &str) -> String {
    let phone = phone.trim();
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        String::new()
    } else if phone.starts_with('+') {
        format!("+{digits}")
    } else if let Some(rest) = digits.strip_prefix("00") {
        format!("+{rest}")
    } else {
        digits
    }
}

/// What a person typed (`a@b.c`, `+351 912 345 678`, `contact#flashy#42`,
/// `email#A@b.c`) as a subject; `None` when it is none of those.
pub fn normalize_subject(input: &str) -> Option<Subject> {
    let input = input.trim();
    if let Some(email) = input.strip_prefix("email#") {
        return Some(format!("email#{}", email_key(email))).filter(|_| email.contains('@'));
    }
    if let Some(phone) = input.strip_prefix("phone#") {
        let phone = phone_key(phone);
        return (!phone.is_empty()).then(|| format!("phone#{phone}"));
    }
    if let Some(rest) = input.strip_prefix("contact#") {
        let (provider, id) = rest.split_once('#')?;
        return (!provider.is_empty() && !id.is_empty())
            .then(|| contact_subject(&provider.to_lowercase(), id));
    }
    if input.contains('@') {
        return Some(format!("email#{}", email_key(input)));
    }
    // `flashy:42`, as `webhooks contact` takes it.
    if let Some((provider, id)) = input.split_once(':') {
        let named = !provider.is_empty() && provider.chars().all(|c| c.is_ascii_alphabetic());
        return (named && !id.is_empty()).then(|| contact_subject(&provider.to_lowercase(), id));
    }
    let phoneish = input
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if phoneish && input.chars().any(|c| c.is_ascii_digit()) {
        return Some(format!("phone#{}", phone_key(input)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_egoi_phone_is_its_country_code_a_dash_and_the_number() {
        let phone = |provider: &str, phone: &str| {
            subjects(&Fact {
                provider: provider.into(),
                phone: Some(phone.into()),
                ..Fact::default()
            })
        };
        // E-goi's form and another platform's E.164 are one person
        assert_eq!(phone("egoi", "351-912345678"), ["phone#+351912345678"]);
        assert_eq!(
            phone("sendpulse", "+351 912 345 678"),
            ["phone#+351912345678"]
        );
        assert_eq!(phone("egoi", " 55-11987654321 "), ["phone#+5511987654321"]);
        // anything else E-goi sends, and a dash elsewhere, as before
        assert_eq!(phone("egoi", "912345678"), ["phone#912345678"]);
        assert_eq!(phone("egoi", "+351-912345678"), ["phone#+351912345678"]);
        assert_eq!(phone("egoi", "3512-912345678"), ["phone#3512912345678"]);
        assert_eq!(phone("egoi", "351-"), ["phone#351"]);
        assert_eq!(phone("flashy", "555-1234"), ["phone#5551234"]);
        assert!(phone("egoi", "-").is_empty());
    }

    #[test]
    fn an_event_is_about_its_addresses_else_its_contact_id() {
        let fact = Fact {
            provider: "flashy".into(),
            email: Some(" Ann@Example.COM ".into()),
            contact_id: Some("42".into()),
            ..Fact::default()
        };
        assert_eq!(subjects(&fact), ["email#ann@example.com"]);
        assert_eq!(
            links(&fact),
            [(
                "email#ann@example.com".to_owned(),
                "contact#flashy#42".to_owned()
            )]
        );
        let id_only = Fact {
            email: None,
            ..fact
        };
        assert_eq!(subjects(&id_only), ["contact#flashy#42"]);
    }

    #[test]
    fn what_a_person_types_becomes_a_subject() {
        assert_eq!(normalize_subject("A@B.c").as_deref(), Some("email#a@b.c"));
        assert_eq!(
            normalize_subject("+351 912-345-678").as_deref(),
            Some("phone#+351912345678")
        );
        assert_eq!(
            normalize_subject("contact#flashy#42").as_deref(),
            Some("contact#flashy#42")
        );
        assert_eq!(
            normalize_subject("Flashy:42").as_deref(),
            Some("contact#flashy#42")
        );
        assert_eq!(
            normalize_subject("contact#Flashy#42").as_deref(),
            Some("contact#flashy#42"),
            "the provider is lower-cased in both spellings"
        );
        assert_eq!(normalize_subject("nobody"), None);
    }
}
