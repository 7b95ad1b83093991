"""Byline, dateline and header parsing on single lines."""

import datetime as dt

from extractors.text_metadata import (
    is_update_only,
    parse_byline,
    parse_date,
    parse_dateline,
    parse_meta_line,
    parse_name_line,
    parse_section_date_author,
    parse_slash_header,
    parse_stated_datetime,
)


class TestDates:
    def test_common_formats(self):
        assert parse_date("May 2, 2025") == dt.datetime(2025, 5, 2)
        assert parse_date("May 02,2025") == dt.datetime(2025, 5, 2)
        assert parse_date("PUBLISHED WED, FEB 28 2024") == dt.datetime(2024, 2, 28)
        assert parse_date("Sat 2 Mar 2024 17.07 CET") == dt.datetime(2024, 3, 2)
        assert parse_date("2024-02-28T10:00:00Z") == dt.datetime(2024, 2, 28)
        assert parse_date("Sept. 3, 2023") == dt.datetime(2023, 9, 3)

    def test_impossible_date_is_none(self):
        assert parse_date("February 30, 2024") is None

    def test_absent_is_none(self):
        assert parse_date("No date in this line at all") is None
        assert parse_dateline("Politics") is None


class TestDatelines:
    def test_short_dateline(self):
        assert parse_dateline("May 2, 2025") == dt.datetime(2025, 5, 2)

    def test_published_and_updated(self):
        line = "Published February 28, 2024 4:58pm EST | Updated February 29, 2024 8:35am EST"
        est = dt.timezone(dt.timedelta(hours=-5))
        assert parse_dateline(line) == dt.datetime(2024, 2, 28, 16, 58, tzinfo=est)  # the published one, its time
        assert not is_update_only(line)
        assert is_update_only("Updated March 1, 2024")

    def test_caption_date_is_not_a_dateline(self):
        caption = (
            "FILE – Vice President JD Vance, right, speaks with Ukrainian President Volodymyr Zelenskyy, left, "
            "in the Oval Office at the White House, Feb. 28, 2025, in Washington. (AP Photo/ Mystyslav Chernov, File)"
        )
        assert parse_dateline(caption) is None

    def test_quote_date_is_not_a_dateline(self):
        assert parse_dateline("“We will sign it on March 3, 2025,” the minister said.") is None


class TestStatedTimes:
    """A dateline's time and offset are kept as stated; a day alone stays a day."""

    def test_iso_with_offset(self):
        msk = dt.timezone(dt.timedelta(hours=3))
        assert parse_stated_datetime("2025-05-14T20:28:12+03:00") == (dt.datetime(2025, 5, 14, 20, 28, 12, tzinfo=msk), False)

    def test_time_with_zone_names_and_numbers(self):
        cest, eight = dt.timezone(dt.timedelta(hours=2)), dt.timezone(dt.timedelta(hours=8))
        assert parse_stated_datetime("14. Mai 2025, 20:28 Uhr MESZ") == (dt.datetime(2025, 5, 14, 20, 28, tzinfo=cest), False)
        assert parse_stated_datetime("Oct 16, 2024 12:05 am GMT+8") == (dt.datetime(2024, 10, 16, 0, 5, tzinfo=eight), False)
        assert parse_stated_datetime("Sat 2 Mar 2024 17.07 CET")[0].utcoffset() == dt.timedelta(hours=1)

    def test_time_without_offset_is_naive(self):
        assert parse_stated_datetime("14.05.2025, 20:28") == (dt.datetime(2025, 5, 14, 20, 28), False)

    def test_day_only(self):
        assert parse_stated_datetime("May 2, 2025") == (dt.datetime(2025, 5, 2), True)
        assert parse_stated_datetime("Politics May 02,2025 | Jo Roe") == (dt.datetime(2025, 5, 2), True)
        meta = parse_meta_line("May 2, 2025")
        assert meta.published_at == dt.datetime(2025, 5, 2) and meta.published_date_only


class TestBylines:
    def test_by_prefix(self):
        assert parse_byline("by Craig Nigrelli") == ["Craig Nigrelli"]
        assert parse_byline("By Naomi Fry") == ["Naomi Fry"]

    def test_several_authors_and_affiliation(self):
        assert parse_byline("By Brooke Singman Fox News") == ["Brooke Singman"]
        assert parse_byline("By Jane Doe and John Roe") == ["Jane Doe", "John Roe"]

    def test_all_caps_names(self):
        assert parse_byline("By MELISSA GOLDIN") == ["Melissa Goldin"]

    def test_story_sentence_is_not_a_byline(self):
        assert parse_byline("By the end of the week, the talks had collapsed and both sides blamed each other.") == []
        assert parse_byline("Politics") == []


def test_section_date_author_line():
    meta = parse_section_date_author("Politics May 02,2025 | Independence Journal Editorial Team")
    assert meta is not None
    assert meta.section == "Politics"
    assert meta.published_at == dt.datetime(2025, 5, 2)
    assert meta.authors == ["Independence Journal Editorial Team"]
    assert parse_section_date_author("Left | Right") is None


def test_slash_header():
    title = "US-Led Ukraine Talks Offer Kremlin Strategic Gains"
    line = f"{title}/ Newslooks/ WASHINGTON/ J. Mansour/ Morning Edition/ President Trump’s push drew criticism."
    header = parse_slash_header(line, title)
    assert header is not None
    assert header.site == "Newslooks"
    assert header.authors == ["J. Mansour"]
    assert header.standfirst == "President Trump’s push drew criticism."


def test_slash_header_needs_the_headline():
    assert parse_slash_header("Some/ other/ line/ with slashes", "A headline") is None


class TestMetaLines:
    def test_names_before_the_date(self):
        meta = parse_meta_line("Camilla Turner, Chief Political Correspondent 2 March 2024 • 8:48pm")
        assert meta.authors == ["Camilla Turner"]
        assert meta.published_at == dt.datetime(2024, 3, 2)

    def test_byline_after_the_date(self):
        meta = parse_meta_line("Posted on March 4, 2025 by Dana Whitfield")
        assert meta.authors == ["Dana Whitfield"]
        assert meta.published_at == dt.datetime(2025, 3, 4)

    def test_outlet_after_a_dash_is_not_an_author(self):
        meta = parse_meta_line("By Jeff Mordock - The Washington Times - Thursday, February 29, 2024")
        assert meta.authors == ["Jeff Mordock"]

    def test_section_before_the_date(self):
        assert parse_meta_line("Politics / February 28, 2024").section == "Politics"
        assert parse_meta_line("Saturday 02 March 2024 22:10").section is None

    def test_update_only(self):
        meta = parse_meta_line("Updated: 14/03/2025, 15:02")
        assert meta.updated_at == dt.datetime(2025, 3, 14, 15, 2)
        assert meta.published_at is None

    def test_story_sentence_is_not_metadata(self):
        assert parse_meta_line("The council voted 6–1 on Monday night to approve a pedestrian footbridge.") is None


def test_dates_in_other_languages():
    assert parse_date("Publié le 6 mars 2025 à 18h05") == dt.datetime(2025, 3, 6)
    assert parse_date("6. März 2025") == dt.datetime(2025, 3, 6)
    assert parse_date("6 de marzo de 2025") == dt.datetime(2025, 3, 6)
    assert parse_date("02/28/2024") == dt.datetime(2024, 2, 28)


def test_name_lines():
    assert parse_name_line("Daniel Boguslaw, Prem Thakker") == ["Daniel Boguslaw", "Prem Thakker"]
    assert parse_name_line("Diana Olick@in/dianaolick") == ["Diana Olick"]
    assert parse_name_line("Priya Raman | Reuters") == ["Priya Raman"]
    assert parse_name_line("Kremlin Blasts ‘Sell-Off’ of Ukrainian Wealth") == []
