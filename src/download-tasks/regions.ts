// Country and locale of a download task: ISO 3166-1 alpha-2 codes (the
// officially assigned ones, not ICU's extras such as EU or XK), and the
// Accept-Language a request carries for them.
import { ValidationError } from '../platform/errors.js';

const ISO_3166_ALPHA2 = new Set(
  `AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
   CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
   GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
   KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS
   MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS
   RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW
   TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW`.split(/\s+/),
);

export const DEFAULT_COUNTRY = 'US';

export function validateCountry(country: string): string {
  const code = country.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(code) || !ISO_3166_ALPHA2.has(code)) throw new ValidationError('country', `"${country}" is not an ISO 3166-1 alpha-2 country code (e.g. US, DE, JP)`);
  return code;
}

/** A BCP-47 tag in canonical form, or "auto". */
export function validateLocale(locale: string): string {
  if (locale.trim().toLowerCase() === 'auto') return 'auto';
  try {
    const [canonical] = Intl.getCanonicalLocales(locale.trim());
    if (canonical) return canonical;
  } catch {
    // fall through
  }
  throw new ValidationError('locale', `"${locale}" is not a BCP-47 language tag (e.g. en-US, de-DE) or "auto"`);
}

/** Accept-Language for a locale; "auto" (or none) is the main language of the country. */
export function acceptLanguage(locale: string | null, country: string): string {
  const tag = !locale || locale === 'auto' ? new Intl.Locale(`und-${country}`).maximize() : new Intl.Locale(locale);
  const language = tag.language === 'und' ? 'en' : tag.language;
  const region = tag.region ?? (locale && locale !== 'auto' ? undefined : country);
  return region ? `${language}-${region},${language};q=0.9` : language;
}
