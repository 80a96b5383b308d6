
BoutputJ(Ν ΏoAηΏVr@‹s?οη”?}ΐsΏέPtΐB°=‘JH@