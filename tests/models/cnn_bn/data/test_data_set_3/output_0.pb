
BoutputJ(‚Lїnп>bїHї\v=Ґ	ѕР+a>^КѕNы@їЭкС>тЕoї