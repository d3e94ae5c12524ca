from dagster_project.lib import contacts, privacy


def test_emails_written_differently_normalise_to_one_address():
    assert contacts.normalize_email("  Ana.Garcia@GMAIL.com ") == "ana.garcia@gmail.com"
    assert contacts.normalize_email("ana.garcia@gmail.com") == "ana.garcia@gmail.com"
    assert contacts.normalize_email("not-an-email") is None
    assert contacts.normalize_email("") is None
    assert contacts.normalize_email(None) is None


def test_spanish_phones_in_several_spellings_share_one_e164_number():
    spellings = ["612 345 678", "+34 612345678", "0034612345678", "+34-612-345-678"]
    assert {contacts.phone_e164(s, "ES") for s in spellings} == {"+34612345678"}
    assert contacts.phone_e164("12", "ES") is None
    assert contacts.phone_e164("call me", "ES") is None


def test_keyed_hash_depends_on_key_and_namespace_and_is_stable():
    a = privacy.keyed_hash("123", "k1", "card")
    assert a == privacy.keyed_hash("123", "k1", "card")
    assert a != privacy.keyed_hash("123", "k2", "card")
    assert a != privacy.keyed_hash("123", "k1", "shopify")
    assert len(a) == privacy.KEY_HEX_CHARS
    assert "123" not in a


def test_without_the_environment_variable_the_demo_key_is_used_and_flagged(monkeypatch):
    monkeypatch.delenv("SOME_KEY_VAR", raising=False)
    assert privacy.pseudonym_key("SOME_KEY_VAR") == (privacy.DEMO_KEY, True)
    monkeypatch.setenv("SOME_KEY_VAR", "s3cret")
    assert privacy.pseudonym_key("SOME_KEY_VAR") == ("s3cret", False)


def test_personal_columns_are_named_exactly():
    from dagster_project.lib.privacy import is_personal_column

    for column in ("email", "customer_phone_e164", "first_name", "birth_date", "raw_record"):
        assert is_personal_column(column), column
    # A consent state, a store's city and a product's name describe no person.
    for column in ("email_marketing_consent_state", "city", "product_name", "is_email_valid"):
        assert not is_personal_column(column), column
