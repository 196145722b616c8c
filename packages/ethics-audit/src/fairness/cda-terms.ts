/**
 * Gendered word pairs [male, female] for counterfactual data augmentation, after the lists of Lu et
 * al. 2018 ("Gender Bias in Neural Natural Language Processing") and Zhao et al. 2018, lower case,
 * with plurals. Left out on purpose, because the swap would usually be wrong: words whose other sense
 * dominates ("count"/"countess", "host"/"hostess", "miss", "master"/"mistress", "bachelor"/"spinster"),
 * and pairs that are not counterparts.
 *
 * Two words are ambiguous in English and are resolved by context (see cda.ts), not by this list:
 * "her" is his (possessive determiner: "her book") or him (object: "saw her"); "his" is her
 * (determiner: "his book") or hers (possessive pronoun: "the book is his").
 */
export const GENDER_WORD_PAIRS: readonly (readonly [string, string])[] = Object.freeze([
  ['he', 'she'], ['him', 'her'], ['his', 'her'], ['his', 'hers'], ['himself', 'herself'],
  ['man', 'woman'], ['men', 'women'], ['boy', 'girl'], ['boys', 'girls'], ['male', 'female'], ['males', 'females'],
  ['masculine', 'feminine'], ['gentleman', 'lady'], ['gentlemen', 'ladies'], ['guy', 'gal'], ['guys', 'gals'], ['lad', 'lass'], ['lads', 'lasses'],
  ['father', 'mother'], ['fathers', 'mothers'], ['dad', 'mom'], ['dads', 'moms'], ['daddy', 'mommy'], ['papa', 'mama'],
  ['son', 'daughter'], ['sons', 'daughters'], ['brother', 'sister'], ['brothers', 'sisters'],
  ['husband', 'wife'], ['husbands', 'wives'], ['boyfriend', 'girlfriend'], ['boyfriends', 'girlfriends'],
  ['groom', 'bride'], ['grooms', 'brides'], ['bridegroom', 'bride'], ['fiance', 'fiancee'], ['widower', 'widow'], ['widowers', 'widows'],
  ['uncle', 'aunt'], ['uncles', 'aunts'], ['nephew', 'niece'], ['nephews', 'nieces'],
  ['grandfather', 'grandmother'], ['grandfathers', 'grandmothers'], ['grandpa', 'grandma'], ['granddad', 'grandmom'],
  ['grandson', 'granddaughter'], ['grandsons', 'granddaughters'],
  ['stepfather', 'stepmother'], ['stepson', 'stepdaughter'], ['stepbrother', 'stepsister'],
  ['father-in-law', 'mother-in-law'], ['son-in-law', 'daughter-in-law'], ['brother-in-law', 'sister-in-law'],
  ['king', 'queen'], ['kings', 'queens'], ['prince', 'princess'], ['princes', 'princesses'], ['emperor', 'empress'],
  ['duke', 'duchess'], ['dukes', 'duchesses'], ['lord', 'lady'], ['baron', 'baroness'], ['sir', 'madam'],
  ['mr', 'mrs'], ['mr', 'ms'], ['monk', 'nun'], ['monks', 'nuns'], ['priest', 'priestess'], ['god', 'goddess'], ['gods', 'goddesses'],
  ['actor', 'actress'], ['actors', 'actresses'], ['waiter', 'waitress'], ['waiters', 'waitresses'], ['steward', 'stewardess'],
  ['hero', 'heroine'], ['heroes', 'heroines'], ['headmaster', 'headmistress'], ['landlord', 'landlady'],
  ['spokesman', 'spokeswoman'], ['spokesmen', 'spokeswomen'], ['chairman', 'chairwoman'], ['chairmen', 'chairwomen'],
  ['businessman', 'businesswoman'], ['businessmen', 'businesswomen'], ['congressman', 'congresswoman'],
  ['policeman', 'policewoman'], ['policemen', 'policewomen'], ['salesman', 'saleswoman'], ['salesmen', 'saleswomen'],
  ['sportsman', 'sportswoman'], ['countryman', 'countrywoman'], ['schoolboy', 'schoolgirl'], ['schoolboys', 'schoolgirls'],
  ['boyhood', 'girlhood'], ['manhood', 'womanhood'], ['fraternity', 'sorority'], ['brotherhood', 'sisterhood'],
  ['patriarch', 'matriarch'], ['paternal', 'maternal'], ['paternity', 'maternity'], ['fatherhood', 'motherhood'],
  ['godfather', 'godmother'], ['godson', 'goddaughter'], ['manservant', 'maidservant'], ['wizard', 'witch'], ['wizards', 'witches'],
]);

/** Optional first-name pairs (name intervention, Maudslay et al. 2019); swapped only when capitalised. */
export const GENDER_NAME_PAIRS: readonly (readonly [string, string])[] = Object.freeze([
  ['James', 'Mary'], ['John', 'Patricia'], ['Robert', 'Jennifer'], ['Michael', 'Linda'], ['William', 'Elizabeth'],
  ['David', 'Barbara'], ['Richard', 'Susan'], ['Joseph', 'Jessica'], ['Thomas', 'Sarah'], ['Charles', 'Karen'],
  ['Daniel', 'Nancy'], ['Matthew', 'Lisa'], ['Anthony', 'Margaret'], ['Paul', 'Sandra'], ['Steven', 'Ashley'],
  ['Andrew', 'Emily'], ['Kevin', 'Donna'], ['Brian', 'Michelle'], ['George', 'Dorothy'], ['Edward', 'Carol'],
]);
