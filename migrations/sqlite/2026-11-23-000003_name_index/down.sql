DROP TABLE name_trigrams;
