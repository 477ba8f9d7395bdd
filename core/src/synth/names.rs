//! Synthetic names: Bao'an's real streets, made-up communities and people, clearly fake phones.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

use crate::domain::Contact;

/// Bao'an's ten streets (街道), in the order the generator assigns them.
pub const BAOAN_STREETS: [(&str, &str); 10] = [
    ("新安街道", "Xin'an"),
    ("西乡街道", "Xixiang"),
    ("航城街道", "Hangcheng"),
    ("福永街道", "Fuyong"),
    ("福海街道", "Fuhai"),
    ("沙井街道", "Shajing"),
    ("新桥街道", "Xinqiao"),
    ("松岗街道", "Songgang"),
    ("燕罗街道", "Yanluo"),
    ("石岩街道", "Shiyan"),
];

/// Characters common in Bao'an place names, with pinyin. Community names are pairs of them.
const PLACE_SYLLABLES: [(&str, &str); 40] = [
    ("凤", "feng"),
    ("塘", "tang"),
    ("福", "fu"),
    ("永", "yong"),
    ("海", "hai"),
    ("沙", "sha"),
    ("井", "jing"),
    ("桥", "qiao"),
    ("松", "song"),
    ("岗", "gang"),
    ("燕", "yan"),
    ("罗", "luo"),
    ("石", "shi"),
    ("岩", "yan"),
    ("固", "gu"),
    ("戍", "shu"),
    ("黄", "huang"),
    ("田", "tian"),
    ("鹤", "he"),
    ("洲", "zhou"),
    ("桃", "tao"),
    ("源", "yuan"),
    ("兴", "xing"),
    ("围", "wei"),
    ("涌", "chong"),
    ("头", "tou"),
    ("坑", "keng"),
    ("湾", "wan"),
    ("上", "shang"),
    ("下", "xia"),
    ("南", "nan"),
    ("北", "bei"),
    ("东", "dong"),
    ("山", "shan"),
    ("水", "shui"),
    ("龙", "long"),
    ("华", "hua"),
    ("和", "he"),
    ("平", "ping"),
    ("岭", "ling"),
];

const SURNAMES: [&str; 30] = [
    "陈", "李", "张", "黄", "王", "林", "刘", "吴", "杨", "何", "郑", "罗", "梁", "谢", "周", "徐",
    "钟", "邓", "曾", "彭", "潘", "蔡", "许", "赖", "叶", "文", "袁", "冯", "邱", "廖",
];

const GIVEN: [&str; 40] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "萍", "红", "建", "文", "辉", "海", "燕",
    "斌", "鹏", "志", "宇", "浩", "晨", "琳", "欣",
];

/// Street `index` (0-based): one of Bao'an's ten, then numbered made-up ones.
pub(crate) fn street_name(index: usize) -> (String, String) {
    match BAOAN_STREETS.get(index) {
        Some((zh, en)) => ((*zh).to_owned(), format!("{en} Subdistrict")),
        None => (
            format!("第{}街道", index + 1),
            format!("Street {}", index + 1),
        ),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `n` distinct community names (zh, en) in a seeded order.
pub(crate) fn community_names(n: usize, rng: &mut impl Rng) -> Vec<(String, String)> {
    let mut pairs: Vec<(usize, usize)> = (0..PLACE_SYLLABLES.len())
        .flat_map(|a| (0..PLACE_SYLLABLES.len()).map(move |b| (a, b)))
        .filter(|(a, b)| a != b)
        .collect();
    pairs.shuffle(rng);
    (0..n)
        .map(|i| {
            let (a, b) = pairs[i % pairs.len()];
            let (za, pa) = PLACE_SYLLABLES[a];
            let (zb, pb) = PLACE_SYLLABLES[b];
            // Past the 1,560 distinct pairs a number keeps names unique.
            let round = i / pairs.len();
            let (suffix_zh, suffix_en) = if round == 0 {
                (String::new(), String::new())
            } else {
                (format!("{}", round + 1), format!(" {}", round + 1))
            };
            (
                format!("{za}{zb}{suffix_zh}社区"),
                format!("{}{pb}{suffix_en} Community", capitalised(pa)),
            )
        })
        .collect()
}

pub(crate) fn person_name(rng: &mut impl Rng) -> String {
    let mut name = String::with_capacity(9);
    name.push_str(SURNAMES[rng.random_range(0..SURNAMES.len())]);
    name.push_str(GIVEN[rng.random_range(0..GIVEN.len())]);
    if rng.random_bool(0.6) {
        name.push_str(GIVEN[rng.random_range(0..GIVEN.len())]);
    }
    name
}

/// A mobile number of the fixed pattern 1380000xxxx: shaped like a real one, obviously fake.
pub(crate) fn fake_phone(rng: &mut impl Rng) -> String {
    format!("1380000{:04}", rng.random_range(0..10_000u32))
}

pub(crate) fn contact(rng: &mut impl Rng) -> Contact {
    Contact {
        name: person_name(rng),
        phone: fake_phone(rng),
    }
}
