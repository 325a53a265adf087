"""Synthetic low-quality documents: the negatives of the bundled default quality model.

Web junk that a language-model corpus should not be made of, generated from templates and
word lists written for this project (no third-party text): navigation menus, cookie and
copyright boilerplate, keyword spam, product listings, leftover markup and code, repeated
lines, gibberish, error pages, and word salad (real words from the positive corpus in random
order, so that word choice alone cannot pass for prose). Some documents wrap one or two real
sentences in boilerplate. Deterministic for a given seed and vocabulary.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable


def _items(text: str) -> list[str]:
    """'a|b c|d' -> ['a', 'b c', 'd']: word lists written compactly."""
    return text.split("|")


SITE_WORDS = _items(
    "home about contact products services blog news shop store cart checkout account login "
    "register sign in out search menu help faq support careers press events gallery videos "
    "photos downloads resources pricing features solutions partners community forum sitemap "
    "privacy policy terms conditions cookies accessibility newsletter subscribe deals offers "
    "sale new arrivals categories brands reviews wishlist orders returns shipping delivery "
    "locations stores jobs investors media team portfolio projects testimonials"
    .replace(" ", "|"))
CATEGORIES = _items(
    "Electronics|Clothing|Shoes|Home & Garden|Toys|Sports|Books|Music|Movies|Beauty|Health|"
    "Jewelry|Watches|Automotive|Pet Supplies|Office|Baby|Kitchen|Furniture|Outdoor|Travel|"
    "Software|Games|Phones|Computers|Cameras|Tools|Lighting|Bedding|Crafts")
SPAM_TERMS = _items(
    "cheap|best price|discount|free shipping|buy online|order now|lowest price|top rated|"
    "best deals|coupon code|limited offer|sale|wholesale|replica|no prescription|fast delivery|"
    "casino bonus|online casino|free spins|payday loans|quick loans|bad credit|weight loss|"
    "diet pills|make money fast|work from home|earn cash|seo services|backlinks|cheap hosting|"
    "best vpn|crypto signals|forex trading|dating site|hot singles|viagra|cialis|"
    "cheap flights|hotel deals|car insurance|mortgage rates|free download|crack|keygen|"
    "full version|watch online free|hd streaming|followers|likes")
PRODUCTS = _items(
    "shirt|jacket|sneakers|boots|handbag|wallet|watch|headphones|charger|laptop|phone case|"
    "tablet|speaker|lamp|chair|sofa|mattress|pillow|blender|kettle|vacuum|drill|tent|"
    "backpack|sunglasses|necklace|ring|perfume|cream|shampoo|vitamins|protein powder|"
    "camera|lens|printer|router|keyboard|mouse|monitor|cable|battery")
ADJECTIVES = _items("new|best|top|premium|original|genuine|classic|modern|luxury|portable|"
                    "wireless|waterproof|organic|natural|professional|ultra|mini|pro|smart|vintage")
COLORS = _items("black|white|red|blue|green|grey|pink|silver|gold|navy|beige|brown")
CITIES = _items("New York|London|Paris|Berlin|Sydney|Toronto|Chicago|Dubai|Mumbai|Tokyo|"
                "Madrid|Los Angeles|Houston|Miami|Dallas|Boston|Seattle|Denver|Atlanta|Phoenix")
BOILERPLATE = [
    "This website uses cookies to ensure you get the best experience on our website.",
    "We use cookies to improve your experience. By continuing to browse you agree to our use "
    "of cookies.",
    "Accept all cookies", "Cookie settings", "Manage preferences", "Got it!", "Learn more",
    "All rights reserved.", "Privacy Policy | Terms of Use | Cookie Policy | Sitemap",
    "Powered by WordPress", "Theme by {name}", "Skip to main content", "Skip to content",
    "Toggle navigation", "Back to top", "Share this:", "Share on Facebook", "Tweet",
    "Pin it", "Email this", "Print", "Like this:", "Like Loading...", "Related posts:",
    "Leave a comment", "Leave a Reply Cancel reply",
    "Your email address will not be published. Required fields are marked *",
    "Comment", "Name *", "Email *", "Website", "Post Comment", "Notify me of new posts by email.",
    "Subscribe to our newsletter", "Sign up for our newsletter and get 10% off your first order!",
    "Enter your email address", "Subscribe", "Follow us on Instagram", "Follow us:",
    "Posted by {name} at {time}", "Posted in {category} | {n} Comments",
    "Filed under: {category}", "Tags: {tags}", "Categories: {category}",
    "Previous post", "Next post", "Read more »", "Continue reading →", "Click here",
    "Click here to download", "Load more", "Show more", "View all", "See all {n} reviews",
    "Write a review", "Add to cart", "Add to wishlist", "Quick view", "Out of stock",
    "In stock", "Free shipping on orders over ${n}", "30-day money back guarantee",
    "Customer service", "Contact us", "Call us: {phone}", "Open Monday - Friday, 9am - 5pm",
    "Copyright © {year} {name}. All rights reserved.", "© {year} {name}",
    "Designed by {name}", "Last updated: {date}", "Page {n} of {m}", "« Previous 1 2 3 Next »",
    "Home » {category} » {product}", "You are here: Home / {category}",
    "Search for:", "Search ...", "Search", "Menu", "Close", "Log in", "Register",
    "My account", "Cart (0)", "Checkout", "Sign in or create an account",
    "Forgot your password?", "Remember me", "JavaScript must be enabled to view this page.",
    "Please enable JavaScript in your browser.", "Loading...", "Please wait...",
]
ERRORS = ["404 Not Found", "Page not found", "Oops! That page can't be found.",
          "The page you are looking for does not exist.", "403 Forbidden", "Access denied",
          "500 Internal Server Error", "Error", "Loading...", "Coming soon", "Under construction",
          "This domain is for sale", "Buy this domain", "Website expired", "Account suspended",
          "Redirecting...", "Please verify you are a human", "Checking your browser..."]
NAMES = _items("admin|John Smith|Mary|jsmith|Sarah Lee|webmaster|editor|Mike|Anna|David|"
               "Lisa|support|guest|user123|Tom")
CODE = [
    "var {w} = function() {{ return {n}; }};", "function {w}({w2}) {{ {w2}.{w}(); }}",
    "<div class=\"{w}-{w2}\">", "</div>", "<span>{w}</span>", "<a href=\"/{w}/{w2}\">{w}</a>",
    "<script>window.{w} = {n};</script>", ".{w} {{ margin: 0; padding: {n}px; }}",
    "#{w} {{ color: #{hex}; }}", "if ({w} == null) {{ {w} = []; }}", "&nbsp;&nbsp;|&nbsp;",
    "{w}={hex}&{w2}={n}&ref={hex}", "https://www.{w}.com/{w2}?id={n}&utm_source={w}",
    "document.getElementById('{w}').style.display = 'none';", "$('.{w}').on('click', {w2});",
    "@media (max-width: {n}px) {{ .{w} {{ display: none; }} }}", "{{\"{w}\": \"{hex}\", "
    "\"{w2}\": {n}}}", "[{w}] => {n}", "{hex}{hex}{hex}{hex}",
]


class JunkGenerator:
    """Low-quality documents of many kinds; `vocabulary` is (word, weight) from real text."""

    def __init__(self, vocabulary: list[tuple[str, float]], sentences: list[str], seed: int = 0):
        self.rng = random.Random(seed)
        self.words = [w for w, _ in vocabulary]
        self.cum_weights = []
        total = 0.0
        for _, weight in vocabulary:
            total += weight
            self.cum_weights.append(total)
        self.sentences = sentences
        self.kinds: list[tuple[Callable[[], str], float]] = [
            (self.word_salad, 3), (self.navigation, 2), (self.boilerplate, 3), (self.spam, 2),
            (self.listing, 2), (self.markup, 1.5), (self.repetition, 1), (self.gibberish, 0.5),
            (self.error_page, 1), (self.wrapped, 2), (self.link_list, 1), (self.table, 1)]

    def documents(self, n: int) -> list[str]:
        makers = [k for k, _ in self.kinds]
        weights = [w for _, w in self.kinds]
        return [self.rng.choices(makers, weights)[0]() for _ in range(n)]

    # -- pieces ---------------------------------------------------------------------------

    def _fill(self, template: str) -> str:
        r = self.rng
        values = {
            "name": r.choice(NAMES), "time": f"{r.randint(1, 12)}:{r.randint(0, 59):02d} "
                                             f"{r.choice(['AM', 'PM'])}",
            "category": r.choice(CATEGORIES), "product": self._product(), "n": r.randint(1, 500),
            "m": r.randint(2, 50), "year": r.randint(2005, 2024), "phone": self._phone(),
            "date": f"{r.choice(['January', 'March', 'June', 'October', 'Dec'])} "
                    f"{r.randint(1, 28)}, {r.randint(2010, 2024)}",
            "tags": ", ".join(r.sample(SITE_WORDS + [c.lower() for c in CATEGORIES], 4)),
            "w": r.choice(SITE_WORDS), "w2": r.choice(SITE_WORDS),
            "hex": "".join(r.choices("0123456789abcdef", k=r.randint(6, 12)))}
        return template.format(**values)

    def _phone(self) -> str:
        r = self.rng
        return f"({r.randint(200, 999)}) {r.randint(200, 999)}-{r.randint(0, 9999):04d}"

    def _product(self) -> str:
        r = self.rng
        words = [r.choice(ADJECTIVES), r.choice(COLORS), r.choice(PRODUCTS)]
        return " ".join(w.title() if r.random() < 0.6 else w for w in words)

    def _price(self) -> str:
        r = self.rng
        cents = r.choice(["99", "95", "00", "49"])
        return f"{r.choice(['$', '€', '£', ''])}{r.randint(1, 999)}.{cents}"

    def _real_words(self, k: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cum_weights, k=k)

    # -- kinds ----------------------------------------------------------------------------

    def word_salad(self) -> str:
        """Real words in random order, punctuated like prose."""
        r = self.rng
        sentences = []
        for _ in range(r.randint(3, 40)):
            words = self._real_words(r.randint(4, 25))
            words[0] = words[0].capitalize()
            sentences.append(" ".join(words) + r.choice([".", ".", ".", "!", "?", ","]))
        lines, per = [], r.randint(1, 6)
        for i in range(0, len(sentences), per):
            lines.append(" ".join(sentences[i:i + per]))
        return r.choice(["\n", "\n\n"]).join(lines)

    def navigation(self) -> str:
        r = self.rng
        lines = []
        for _ in range(r.randint(2, 12)):
            items = r.sample(SITE_WORDS + CATEGORIES, r.randint(3, 9))
            items = [i.title() if r.random() < 0.7 else i for i in items]
            lines.append(r.choice([" | ", " · ", " / ", " - ", "\n", "  "]).join(items))
        if r.random() < 0.5:
            lines.insert(r.randrange(len(lines) + 1), self._fill(r.choice(BOILERPLATE)))
        return "\n".join(lines)

    def boilerplate(self) -> str:
        r = self.rng
        return "\n".join(self._fill(r.choice(BOILERPLATE)) for _ in range(r.randint(3, 30)))

    def spam(self) -> str:
        r = self.rng
        lines = []
        for _ in range(r.randint(2, 15)):
            terms = r.sample(SPAM_TERMS, r.randint(2, 6))
            if r.random() < 0.5:
                terms.append(r.choice(CITIES))
            if r.random() < 0.4:
                terms.append(str(r.randint(2015, 2024)))
            line = " ".join(terms)
            lines.append(line.upper() if r.random() < 0.15 else line.capitalize()
                         + r.choice(["", "!", "!!!", " ...", " - click here", "."]))
        return r.choice(["\n", " ", ". "]).join(lines)

    def listing(self) -> str:
        r = self.rng
        lines = []
        for _ in range(r.randint(3, 25)):
            parts = [self._product(), self._price()]
            if r.random() < 0.5:
                parts.insert(0, f"SKU {r.randint(10000, 99999)}")
            if r.random() < 0.5:
                parts.append(r.choice(["In stock", "Out of stock", "Add to cart", "Sale!",
                                       f"{r.randint(1, 5)}.{r.randint(0, 9)} stars",
                                       f"({r.randint(1, 900)} reviews)"]))
            lines.append(r.choice([" - ", " | ", "  ", "\t", " \u2013 "]).join(parts))
        return "\n".join(lines)

    def markup(self) -> str:
        r = self.rng
        return "\n".join(self._fill(r.choice(CODE)) for _ in range(r.randint(3, 30)))

    def repetition(self) -> str:
        r = self.rng
        source = r.choice([lambda: self._fill(r.choice(BOILERPLATE)),
                           lambda: " ".join(r.sample(SPAM_TERMS, 3)),
                           lambda: r.choice(self.sentences) if self.sentences else "read more"])
        unit = [source() for _ in range(r.randint(1, 3))]
        return "\n".join(unit * r.randint(4, 30))

    def gibberish(self) -> str:
        r = self.rng
        alphabet = string.ascii_letters + string.digits + "+/=_-.,;:!?#@%&*"
        lines = []
        for _ in range(r.randint(2, 20)):
            lines.append(" ".join("".join(r.choices(alphabet, k=r.randint(2, 14)))
                                  for _ in range(r.randint(1, 15))))
        return "\n".join(lines)

    def error_page(self) -> str:
        r = self.rng
        parts = r.sample(ERRORS, r.randint(1, 3))
        if r.random() < 0.6:
            parts += [self._fill(r.choice(BOILERPLATE)) for _ in range(r.randint(1, 6))]
        return "\n".join(parts)

    def wrapped(self) -> str:
        """A sentence or two of real text inside a page of boilerplate and navigation."""
        r = self.rng
        real = " ".join(r.sample(self.sentences, min(r.randint(1, 2), len(self.sentences))))
        around = [self.navigation() if r.random() < 0.5 else self.boilerplate(),
                  self.listing() if r.random() < 0.3 else self.boilerplate()]
        return f"{around[0]}\n{real}\n{around[1]}"

    def link_list(self) -> str:
        r = self.rng
        lines = []
        for _ in range(r.randint(3, 30)):
            words = r.sample(SITE_WORDS, r.randint(1, 4))
            style = r.random()
            if style < 0.3:
                lines.append(f"https://www.{r.choice(SITE_WORDS)}{r.randint(1, 99)}.com/"
                             + "-".join(words))
            elif style < 0.6:
                lines.append(f"{' '.join(w.title() for w in words)} ({r.randint(1, 300)})")
            else:
                lines.append(f"• {' '.join(self._real_words(r.randint(2, 6))).title()}")
        return "\n".join(lines)

    def table(self) -> str:
        r = self.rng
        columns = r.randint(3, 7)
        header = " | ".join(r.sample(["Date", "Name", "Price", "Qty", "Total", "Status", "ID",
                                      "Score", "Team", "Rank", "Pts", "W", "L"], columns))
        rows = [header]
        for _ in range(r.randint(3, 25)):
            cells = [r.choice([str(r.randint(0, 9999)), self._price(), r.choice(NAMES),
                               f"{r.randint(1, 12)}/{r.randint(1, 28)}/{r.randint(10, 24)}",
                               r.choice(COLORS), "-", "N/A"]) for _ in range(columns)]
            rows.append(" | ".join(cells))
        return "\n".join(rows)
